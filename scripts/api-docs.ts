/**
 * Lists the parts of the public API (everything `src/index.ts` exports) that have no TSDoc: the
 * export itself, and each public member of an exported class or interface.
 *
 *   npx tsx scripts/api-docs.ts     prints what is undocumented; exit 1 when something is
 *
 * test/unit/api-docs.test.ts runs the same check.
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));

/** `Export` or `Export.member` for each undocumented part of the API exported by `entry`. */
export function undocumentedApi(entry = `${root}src/index.ts`): string[] {
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  if (!source) throw new Error(`Cannot read ${entry}`);
  const module = checker.getSymbolAtLocation(source);
  if (!module) throw new Error(`${entry} is not a module`);

  const missing: string[] = [];
  for (const exported of checker.getExportsOfModule(module)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const name = exported.getName();
    if (!documented(symbol, checker)) missing.push(name);
    for (const declaration of symbol.getDeclarations() ?? []) {
      if (ts.isClassDeclaration(declaration) || ts.isInterfaceDeclaration(declaration)) {
        for (const member of declaration.members) {
          if (!isPublicMember(member)) continue;
          const memberName = member.name && ts.isIdentifier(member.name) ? member.name.text : member.name?.getText();
          if (memberName === undefined) continue;
          if (ts.getJSDocCommentsAndTags(member).length === 0) missing.push(`${name}.${memberName}`);
        }
      }
    }
  }
  return [...new Set(missing)];
}

function documented(symbol: ts.Symbol, checker: ts.TypeChecker): boolean {
  return symbol.getDocumentationComment(checker).length > 0;
}

/** Properties, methods and accessors a user can reach: not private, protected or `#private`, no constructor. */
function isPublicMember(member: ts.ClassElement | ts.TypeElement): boolean {
  if (ts.isConstructorDeclaration(member) || ts.isIndexSignatureDeclaration(member) || ts.isClassStaticBlockDeclaration(member)) return false;
  if (member.name && ts.isPrivateIdentifier(member.name)) return false;
  const flags = ts.canHaveModifiers(member) ? ts.getCombinedModifierFlags(member as ts.Declaration) : 0;
  return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) === 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const missing = undocumentedApi();
  for (const m of missing) console.log(`no TSDoc: ${m}`);
  console.log(missing.length === 0 ? 'every export of src/index.ts is documented' : `${missing.length} undocumented`);
  process.exitCode = missing.length === 0 ? 0 : 1;
}
