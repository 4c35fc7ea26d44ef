import { createRequire } from 'node:module';
import { Language, Parser, type Node } from 'web-tree-sitter';

/**
 * Bicep syntax through the tree-sitter-bicep grammar (npm `tree-sitter-bicep`, the WebAssembly build it ships),
 * run by web-tree-sitter: no native addon to compile and no Bicep CLI to download, so it works on every machine
 * `npm ci` works on. A parse that needs an ERROR node or inserts a MISSING token is a syntax error.
 * It checks syntax only (not types, scopes or API schemas): `az bicep build` remains the full check.
 */

export interface SyntaxProblem {
  readonly line: number;
  readonly column: number;
  /** `ERROR` (text the grammar could not place) or `MISSING <token>` (a token the parser had to invent). */
  readonly kind: string;
  readonly text: string;
}

let parser: Promise<Parser> | undefined;

async function bicepParser(): Promise<Parser> {
  await Parser.init();
  const wasm = createRequire(import.meta.url).resolve('tree-sitter-bicep/tree-sitter-bicep.wasm');
  const language = await Language.load(wasm);
  const instance = new Parser();
  instance.setLanguage(language);
  return instance;
}

/** Every ERROR and MISSING node of the parse of `source`, in document order (1-based positions). */
export async function bicepSyntaxProblems(source: string): Promise<SyntaxProblem[]> {
  parser ??= bicepParser();
  const tree = (await parser).parse(source);
  if (tree === null) throw new Error('tree-sitter-bicep returned no tree');
  const problems: SyntaxProblem[] = [];
  const visit = (node: Node): void => {
    if (node.type === 'ERROR' || node.isMissing)
      problems.push({
        line: node.startPosition.row + 1,
        column: node.startPosition.column + 1,
        kind: node.isMissing ? `MISSING ${node.type}` : 'ERROR',
        text: node.text.slice(0, 60),
      });
    for (const child of node.children) if (child !== null) visit(child);
  };
  visit(tree.rootNode);
  tree.delete();
  return problems;
}
