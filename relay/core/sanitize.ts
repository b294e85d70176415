// HTML mail is hostile until proven otherwise: no script, no event handlers, no forms, and no
// remote loads (tracking pixels) until the reader asks. Remote image sources move to
// data-remote-src, where a viewer can restore them on request.
import sanitizeHtml from 'sanitize-html';

const REMOTE = /^\s*(https?:)?\/\//i;
/**
 * Any CSS function that can fetch (url, image-set, image, cross-fade, element, expression),
 * imports, bindings, and any escape (`u\72l(` reads as `url(`): a style with one is dropped whole.
 */
const UNSAFE_STYLE = /\\|(url|image|image-set|cross-fade|element|expression|src)\s*\(|@import|behavior\s*:|binding/i;

/** One pass over every kept tag: the per-tag rules, then inline styles that could load something. */
function transform(tagName: string, attribs: sanitizeHtml.Attributes): sanitizeHtml.Tag {
  const out = { ...attribs };
  if (tagName === 'img' && out.src && REMOTE.test(out.src)) {
    out['data-remote-src'] = out.src;
    delete out.src;
  }
  if (tagName === 'a') {
    out.target = '_blank';
    out.rel = 'noopener noreferrer nofollow';
  }
  if (out.style && UNSAFE_STYLE.test(out.style)) delete out.style;
  return { tagName, attribs: out };
}

const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [...sanitizeHtml.defaults.allowedTags, 'img', 'center', 'font', 'span', 'del', 'ins', 'u', 's'],
  allowedAttributes: {
    '*': ['style', 'align', 'valign', 'width', 'height', 'bgcolor', 'color', 'dir', 'lang', 'title', 'border', 'cellpadding', 'cellspacing', 'colspan', 'rowspan'],
    a: ['href', 'name', 'target', 'rel'],
    img: ['src', 'alt', 'data-remote-src'],
    font: ['face', 'size', 'color'],
  },
  allowedSchemes: ['http', 'https', 'mailto', 'tel'],
  allowedSchemesByTag: { img: ['cid', 'data'] },
  allowProtocolRelative: false,
  transformTags: { '*': transform },
};

export function sanitizeMailHtml(html: string): string {
  return sanitizeHtml(html, OPTIONS);
}
