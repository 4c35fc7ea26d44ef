export { toJson } from './json.js';
export { csvCell, csvColumns, csvRow, toCsv } from './csv.js';
export { markdownText, toMarkdown, type MarkdownLinks } from './markdown.js';
export { reportContentSecurityPolicy, toHtml } from './html.js';
