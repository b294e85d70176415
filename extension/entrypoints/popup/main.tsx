import { render } from 'preact';
import '../../ui/style.css';
import { Popup } from '../../ui/Popup.tsx';

render(<Popup />, document.getElementById('app')!);
