// `npm run check`: type-checks the server program with `noUncheckedIndexedAccess` and fails on errors
// in the folders already made clean. tsc reports every file of the program, and the rest of the code
// is not there yet, so the flag is turned on folder by folder (issue 17) rather than in tsconfig.server.json.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Folders clean under `noUncheckedIndexedAccess`. Add a folder here once its errors are fixed. */
const STRICT_FOLDERS = ['src/lib/workflow/', 'server/engine/'];

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.strict-index.json', '--noEmit', '--pretty', 'false'], {
	cwd: root,
	encoding: 'utf8',
	maxBuffer: 64 * 1024 * 1024
});
if (result.error) throw result.error;

// One diagnostic is a `path(line,col): error TSnnnn: …` line plus indented continuation lines.
const diagnostics = [];
for (const line of result.stdout.split(/\r?\n/)) {
	if (line === '') continue;
	if (/^\s/.test(line) && diagnostics.length > 0) diagnostics[diagnostics.length - 1].text += `\n${line}`;
	else diagnostics.push({ path: line.replace(/\\/g, '/').replace(/\(\d+,\d+\): .*$/, ''), text: line });
}
const located = (d) => /^\S.*\(\d+,\d+\): /.test(d.text);
// A diagnostic without a file (a broken tsconfig, an unknown option) means nothing was checked.
const unlocated = diagnostics.filter((d) => !located(d));
const strict = diagnostics.filter((d) => located(d) && STRICT_FOLDERS.some((folder) => d.path.startsWith(folder)));

if (unlocated.length > 0 || (result.status !== 0 && diagnostics.length === 0)) {
	console.error(`tsc -p tsconfig.strict-index.json failed (exit ${result.status}):`);
	console.error(result.stdout + result.stderr);
	process.exit(1);
}
if (strict.length > 0) {
	for (const d of strict) console.error(d.text);
	console.error(`\n${strict.length} error(s) with noUncheckedIndexedAccess in ${STRICT_FOLDERS.join(', ')}, which must stay clean.`);
	process.exit(1);
}
const elsewhere = diagnostics.length - strict.length;
console.log(`noUncheckedIndexedAccess: ${STRICT_FOLDERS.join(', ')} clean (${elsewhere} error(s) left in folders not yet done).`);
