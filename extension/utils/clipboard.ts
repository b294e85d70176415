// Copying from a page that has a DOM (the popup, Firefox's background page): the async clipboard
// API first, and where it refuses (an unfocused or older document) a textarea and execCommand.
export async function copyFromPage(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}
