import { render } from 'preact';
import '../../ui/style.css';
import { Options } from '../../ui/Options.tsx';

render(<Options />, document.getElementById('app')!);
