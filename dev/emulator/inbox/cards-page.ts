import type { InboxDelivery } from './store.js';

/**
 * `GET /inbox/cards`: every Teams card the inbox received, drawn the way Teams (light theme) shows an Adaptive Card,
 * plus the webhook deliveries as pretty-printed JSON. Self-contained: inline CSS, no scripts, no images, no external
 * requests (a Content-Security-Policy says so too). Every card string is HTML-escaped; the only URLs in the page are
 * the hrefs of Action.OpenUrl buttons, and only http(s) ones.
 *
 * Rendered: TextBlock (size, weight, color, isSubtle, wrap, maxLines, horizontalAlignment, fontType, **bold** and
 * _italic_ markdown), RichTextBlock (TextRun), FactSet, Container (style), ColumnSet/Column (width), ActionSet,
 * Action.OpenUrl, spacing and separator. Anything else is a labelled placeholder.
 */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? (value as unknown[]) : []);

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Only http(s) URLs become links; anything else (javascript:, data:, relative) is dropped. */
function safeHref(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** The subset of Adaptive Card markdown Teams renders that needs no link or image: **bold**, _italic_, line breaks. */
function inlineMarkdown(text: string): string {
  return escapeHtml(text)
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[\s(])_([^_]+)_(?=$|[\s).,;:!?])/g, '$1<em>$2</em>')
    .replace(/\r?\n/g, '<br>');
}

const keyword = (value: unknown, allowed: readonly string[], fallback: string): string => {
  const lower = typeof value === 'string' ? value.toLowerCase() : '';
  return allowed.includes(lower) ? lower : fallback;
};

const SIZES = ['small', 'default', 'medium', 'large', 'extralarge'];
const WEIGHTS = ['lighter', 'default', 'bolder'];
const COLORS = ['default', 'dark', 'light', 'accent', 'good', 'warning', 'attention'];
const ALIGN = ['left', 'center', 'right'];
const SPACINGS = ['none', 'small', 'default', 'medium', 'large', 'extralarge', 'padding'];
const CONTAINER_STYLES = ['default', 'emphasis', 'good', 'attention', 'warning', 'accent'];

/** Classes shared by every element: spacing above and an optional separator line. */
function blockClasses(element: Json, first: boolean): string[] {
  const classes = [`sp-${first ? 'none' : keyword(element.spacing, SPACINGS, 'default')}`];
  if (element.separator === true && !first) classes.push('sep');
  return classes;
}

function textClasses(element: Json): string[] {
  const classes = [
    `sz-${keyword(element.size, SIZES, 'default')}`,
    `wt-${keyword(element.weight, WEIGHTS, 'default')}`,
    `co-${keyword(element.color, COLORS, 'default')}`,
  ];
  if (element.isSubtle === true) classes.push('subtle');
  if (keyword(element.fontType, ['default', 'monospace'], 'default') === 'monospace') classes.push('mono');
  return classes;
}

function renderTextBlock(element: Json, classes: string[]): string {
  const all = [
    'ac-textblock',
    ...classes,
    ...textClasses(element),
    `al-${keyword(element.horizontalAlignment, ALIGN, 'left')}`,
  ];
  if (element.wrap !== true) all.push('nowrap');
  const maxLines =
    typeof element.maxLines === 'number' && element.maxLines > 0 ? Math.floor(element.maxLines) : undefined;
  const style = maxLines !== undefined && element.wrap === true ? ` style="-webkit-line-clamp:${maxLines}"` : '';
  if (style) all.push('clamp');
  return `<div class="${all.join(' ')}"${style}>${inlineMarkdown(str(element.text) ?? '')}</div>`;
}

function renderRichTextBlock(element: Json, classes: string[]): string {
  const runs = list(element.inlines).map((inline) => {
    if (typeof inline === 'string') return escapeHtml(inline);
    if (!isObject(inline) || inline.type !== 'TextRun')
      return placeholder(isObject(inline) ? str(inline.type) : undefined, 'inline');
    const runClasses = textClasses(inline);
    if (inline.italic === true) runClasses.push('italic');
    if (inline.strikethrough === true) runClasses.push('strike');
    if (inline.underline === true) runClasses.push('underline');
    if (inline.highlight === true) runClasses.push('highlight');
    return `<span class="${runClasses.join(' ')}">${escapeHtml(str(inline.text) ?? '')}</span>`;
  });
  return `<div class="ac-richtext ${classes.join(' ')} al-${keyword(element.horizontalAlignment, ALIGN, 'left')}">${runs.join('')}</div>`;
}

function renderFactSet(element: Json, classes: string[]): string {
  const rows = list(element.facts)
    .filter(isObject)
    .map(
      (fact) =>
        `<tr><th>${inlineMarkdown(str(fact.title) ?? '')}</th><td>${inlineMarkdown(str(fact.value) ?? '')}</td></tr>`,
    );
  return `<table class="ac-factset ${classes.join(' ')}">${rows.join('')}</table>`;
}

function renderItems(items: unknown[]): string {
  return items.map((item, index) => renderElement(item, index === 0)).join('');
}

function renderContainer(element: Json, classes: string[]): string {
  const style = keyword(element.style, CONTAINER_STYLES, 'none');
  const styled = style === 'none' ? '' : ` st-${style} padded`;
  return `<div class="ac-container ${classes.join(' ')}${styled}">${renderItems(list(element.items))}</div>`;
}

function columnStyle(width: unknown): string {
  if (typeof width === 'number' && width > 0) return `flex:${width} 1 0`;
  if (typeof width === 'string') {
    const px = /^(\d+)px$/.exec(width);
    if (px) return `flex:0 0 ${px[1]!}px`;
    if (/^\d+$/.test(width)) return `flex:${width} 1 0`;
    if (width.toLowerCase() === 'auto') return 'flex:0 1 auto';
  }
  return 'flex:1 1 0'; // stretch, the default
}

function renderColumnSet(element: Json, classes: string[]): string {
  const columns = list(element.columns).map((column, index) => {
    if (!isObject(column) || (column.type !== undefined && column.type !== 'Column'))
      return placeholder(isObject(column) ? str(column.type) : undefined, 'column');
    const columnClasses = [
      'ac-column',
      ...(index === 0 ? [] : [`csp-${keyword(column.spacing, SPACINGS, 'default')}`]),
    ];
    if (column.separator === true && index > 0) columnClasses.push('csep');
    const valign = keyword(column.verticalContentAlignment, ['top', 'center', 'bottom'], 'top');
    return `<div class="${columnClasses.join(' ')} va-${valign}" style="${columnStyle(column.width)}">${renderItems(list(column.items))}</div>`;
  });
  return `<div class="ac-columnset ${classes.join(' ')}">${columns.join('')}</div>`;
}

function renderAction(action: unknown): string {
  if (!isObject(action)) return placeholder(undefined, 'action');
  const title = escapeHtml(str(action.title) ?? '');
  if (action.type === 'Action.OpenUrl') {
    const href = safeHref(action.url);
    return href === undefined
      ? `<span class="ac-action disabled" title="not an http(s) URL">${title}</span>`
      : `<a class="ac-action" href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${title}</a>`;
  }
  const note =
    action.type === 'Action.Submit' || action.type === 'Action.Execute'
      ? 'not supported in cards posted through a webhook'
      : 'interactive; not simulated here';
  return `<span class="ac-action disabled" title="${escapeHtml(note)}">${title || escapeHtml(str(action.type) ?? 'action')} <small>(${escapeHtml(str(action.type) ?? 'unknown action')}: ${escapeHtml(note)})</small></span>`;
}

function renderActions(actions: unknown[], classes: string[]): string {
  return actions.length === 0
    ? ''
    : `<div class="ac-actionset ${classes.join(' ')}">${actions.map(renderAction).join('')}</div>`;
}

function placeholder(type: string | undefined, what: string, classes: readonly string[] = []): string {
  return `<div class="${['ac-unknown', ...classes].join(' ')}">Unsupported ${what}: ${escapeHtml(type ?? '(no type)')}</div>`;
}

function renderElement(element: unknown, first: boolean): string {
  if (!isObject(element)) return placeholder(undefined, 'element');
  if (element.isVisible === false) return '';
  const classes = blockClasses(element, first);
  switch (element.type) {
    case 'TextBlock':
      return renderTextBlock(element, classes);
    case 'RichTextBlock':
      return renderRichTextBlock(element, classes);
    case 'FactSet':
      return renderFactSet(element, classes);
    case 'Container':
      return renderContainer(element, classes);
    case 'ColumnSet':
      return renderColumnSet(element, classes);
    case 'ActionSet':
      return renderActions(list(element.actions), classes);
    case 'Image':
      // An image would be an external request; show where it would be instead.
      return `<div class="ac-unknown ${classes.join(' ')}">Image${str(element.altText) ? `: ${escapeHtml(str(element.altText)!)}` : ''} (not loaded: this page makes no external requests)</div>`;
    default:
      return placeholder(str(element.type), 'element', classes);
  }
}

/** One Adaptive Card as Teams would draw it. `card` is the attachment's `content`. */
export function renderAdaptiveCard(card: unknown): string {
  if (!isObject(card)) return `<div class="ac-card">${placeholder(undefined, 'card')}</div>`;
  const full = isObject(card.msteams) && card.msteams.width === 'Full';
  const body = renderItems(list(card.body));
  const actions = renderActions(list(card.actions), ['sp-default']);
  return `<div class="ac-card${full ? ' full' : ''}">${body}${actions}</div>`;
}

function cardOf(delivery: InboxDelivery): unknown {
  if (!isObject(delivery.body)) return undefined;
  const attachment = list(delivery.body.attachments)[0];
  return isObject(attachment) ? attachment.content : undefined;
}

function outcomeBadge(delivery: InboxDelivery): string {
  const label =
    delivery.kind === 'webhook' && delivery.verified !== undefined
      ? `${delivery.outcome} · ${delivery.verified ? 'signature verified' : 'signature NOT verified'}`
      : delivery.outcome;
  return `<span class="badge b-${delivery.outcome}">${escapeHtml(label)} · ${delivery.status}</span>`;
}

function meta(delivery: InboxDelivery): string {
  const parts = [`#${delivery.sequence}`, delivery.channel, delivery.receivedAt, `${delivery.bytes} bytes`];
  if (delivery.webhookId !== undefined) parts.push(`webhook-id ${delivery.webhookId}`);
  return `<div class="meta">${escapeHtml(parts.join(' · '))} ${outcomeBadge(delivery)}${delivery.reason === undefined ? '' : `<div class="reason">${escapeHtml(delivery.reason)}</div>`}</div>`;
}

function renderTeamsDelivery(delivery: InboxDelivery): string {
  const card = cardOf(delivery);
  const drawn = delivery.outcome === 'delivered' || (delivery.outcome === 'scripted' && card !== undefined);
  const content = drawn
    ? renderAdaptiveCard(card)
    : delivery.outcome === 'rejected'
      ? `<div class="ac-card rejected">We're sorry, this card couldn't be displayed</div>`
      : '';
  return `<section class="delivery">${meta(delivery)}${content}</section>`;
}

function renderWebhookDelivery(delivery: InboxDelivery): string {
  const json =
    delivery.body === undefined
      ? '(body not kept)'
      : typeof delivery.body === 'string'
        ? delivery.body
        : JSON.stringify(delivery.body, null, 2);
  return `<section class="delivery">${meta(delivery)}<pre>${escapeHtml(json)}</pre></section>`;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;padding:24px;background:#f5f5f5;color:#242424;font:14px/1.43 "Segoe UI","Segoe UI Web (West European)",-apple-system,BlinkMacSystemFont,Roboto,"Helvetica Neue",sans-serif}
h1{font-size:20px;font-weight:600;margin:0 0 4px}h2{font-size:16px;font-weight:600;margin:32px 0 8px}
.hint{color:#616161;margin:0 0 16px}
.delivery{margin:0 0 20px}
.meta{color:#616161;font-size:12px;margin:0 0 6px}
.reason{color:#c4314b;margin-top:2px}
.badge{display:inline-block;border-radius:10px;padding:0 8px;margin-left:6px;font-weight:600;background:#e0e0e0;color:#424242}
.b-delivered{background:#e7f2da;color:#237b4b}.b-duplicate{background:#fff4ce;color:#835b00}.b-rejected{background:#fcf4f6;color:#c4314b}.b-scripted{background:#eff6fc;color:#4f52b2}
.ac-card{background:#fff;border:1px solid #e0e0e0;border-radius:4px;box-shadow:0 1px 2px rgba(0,0,0,.14);padding:16px;max-width:540px;overflow:hidden}
.ac-card.full{max-width:none}
.ac-card.rejected{color:#616161;font-style:italic}
.sp-none{margin-top:0}.sp-small{margin-top:4px}.sp-default{margin-top:8px}.sp-medium{margin-top:16px}.sp-large{margin-top:24px}.sp-extralarge{margin-top:32px}.sp-padding{margin-top:16px}
.sep{border-top:1px solid #e0e0e0;padding-top:8px}
.ac-textblock{white-space:normal;overflow-wrap:anywhere}
.nowrap{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.clamp{display:-webkit-box;-webkit-box-orient:vertical;overflow:hidden}
.sz-small{font-size:12px}.sz-default{font-size:14px}.sz-medium{font-size:16px}.sz-large{font-size:20px}.sz-extralarge{font-size:24px;line-height:1.33}
.wt-lighter{font-weight:300}.wt-default{font-weight:400}.wt-bolder{font-weight:600}
.co-default{color:#242424}.co-dark{color:#201f1e}.co-light{color:#fff}.co-accent{color:#5b5fc7}.co-good{color:#237b4b}.co-warning{color:#835b00}.co-attention{color:#c4314b}
.subtle{opacity:.72}
.mono{font-family:Consolas,"Courier New",monospace}
.italic{font-style:italic}.strike{text-decoration:line-through}.underline{text-decoration:underline}.highlight{background:#fff4ce}
.al-left{text-align:left}.al-center{text-align:center}.al-right{text-align:right}
.ac-factset{border-collapse:collapse}
.ac-factset th{text-align:left;font-weight:600;padding:0 12px 2px 0;vertical-align:top;white-space:nowrap;max-width:150px;overflow:hidden;text-overflow:ellipsis}
.ac-factset td{padding:0 0 2px;vertical-align:top;overflow-wrap:anywhere}
.padded{padding:12px}
.st-default{background:#fff}.st-emphasis{background:#f5f5f5}.st-good{background:#e7f2da}.st-attention{background:#fcf4f6}.st-warning{background:#fff9f5}.st-accent{background:#eff6fc}
.ac-columnset{display:flex;align-items:stretch}
.ac-column{min-width:0;display:flex;flex-direction:column}
.va-top{justify-content:flex-start}.va-center{justify-content:center}.va-bottom{justify-content:flex-end}
.csp-none{margin-left:0}.csp-small{margin-left:4px}.csp-default{margin-left:8px}.csp-medium{margin-left:16px}.csp-large{margin-left:24px}.csp-extralarge{margin-left:32px}.csp-padding{margin-left:16px}
.csep{border-left:1px solid #e0e0e0;padding-left:8px}
.ac-actionset{display:flex;flex-wrap:wrap;gap:8px}
.ac-action{display:inline-block;border:1px solid #d1d1d1;border-radius:4px;padding:5px 12px;background:#fff;color:#242424;font-weight:600;text-decoration:none}
a.ac-action:hover{background:#f5f5f5}
.ac-action.disabled{color:#a19f9d;font-weight:400}
.ac-unknown{border:1px dashed #c4314b;border-radius:4px;padding:6px 8px;color:#c4314b;font-size:12px;background:#fdf6f7}
pre{background:#fff;border:1px solid #e0e0e0;border-radius:4px;padding:12px;margin:0;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere;font:12px/1.5 Consolas,"Courier New",monospace}
`;

/** The whole page; deliveries newest first as the store lists them. */
export function renderCardsPage(deliveries: readonly InboxDelivery[]): string {
  const teams = deliveries.filter((d) => d.kind === 'teams');
  const webhooks = deliveries.filter((d) => d.kind === 'webhook');
  const none = '<p class="hint">None yet.</p>';
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Sandbox inbox</title>',
    `<style>${CSS}</style></head><body>`,
    '<h1>Sandbox inbox</h1>',
    '<p class="hint">Alerts the app sent to the sandbox channels, newest first. Teams cards are drawn as Teams shows them; reload to refresh.</p>',
    `<h2>Teams (${teams.length})</h2>`,
    teams.length === 0 ? none : teams.map(renderTeamsDelivery).join('\n'),
    `<h2>Webhooks (${webhooks.length})</h2>`,
    webhooks.length === 0 ? none : webhooks.map(renderWebhookDelivery).join('\n'),
    '</body></html>',
  ].join('\n');
}
