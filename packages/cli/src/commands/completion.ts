/**
 * `--completion bash|zsh`: the shell's completion script, made from OPTIONS, so an option added to the table
 * completes without anyone editing a script. The format names of `-f` are asked of `dmraid -l` when completing:
 * the handlers installed then, not those of the day the script was made.
 */
import type { CommandContext } from '../context.js';
import { argumentName, OPTIONS, type OptionRow } from '../options.js';

/** What an option's argument completes to. */
type ArgCompletion =
  | { readonly kind: 'none' }
  | { readonly kind: 'formats' }
  | { readonly kind: 'files' }
  | { readonly kind: 'dirs' }
  | { readonly kind: 'words'; readonly words: readonly string[] };

/** Read from the argument's name, so the table says it once: `FORMAT` formats, `a|b` those words, `FILE` files. */
export function argumentCompletion(row: OptionRow): ArgCompletion {
  const name = argumentName(row);
  if (name === undefined) return { kind: 'none' };
  if (/^FORMAT\b/.test(name)) return { kind: 'formats' };
  if (/^[a-z]+(\|[a-z]+)+$/.test(name)) return { kind: 'words', words: name.split('|') };
  if (/^DIR\b/.test(name)) return { kind: 'dirs' };
  if (/FILE|DEVICE|PATH|IMG|SOCKET/.test(name)) return { kind: 'files' };
  return { kind: 'none' };
}

const names = (row: OptionRow) => [...(row.short ? [`-${row.short}`] : []), ...(row.long ? [`--${row.long}`] : [])];

/** The format names `dmraid -l` prints (`ddf1    : SNIA DDF1 (...)`), by the command being completed. */
const FORMATS_SED = `sed -n 's/^\\([A-Za-z0-9_-]*\\) *: .*/\\1/p'`;

export function bashCompletion(rows: readonly OptionRow[] = OPTIONS): string {
  const cases = new Map<string, string[]>();
  for (const row of rows) {
    if (row.arg !== 'required') continue;
    const c = argumentCompletion(row);
    const action =
      c.kind === 'formats' ? `COMPREPLY=($(compgen -W "$(_dmraid_formats "\${COMP_WORDS[0]}")" -- "$cur"))`
      : c.kind === 'words' ? `COMPREPLY=($(compgen -W '${c.words.join(' ')}' -- "$cur"))`
      : c.kind === 'dirs' ? `COMPREPLY=($(compgen -d -- "$cur"))`
      : c.kind === 'files' ? `COMPREPLY=($(compgen -f -- "$cur"))`
      : 'COMPREPLY=()';
    cases.set(action, [...(cases.get(action) ?? []), ...names(row)]);
  }
  const words = rows.flatMap(names).join(' ');
  return `# bash completion for dmraid, made from its option table: dmraid --completion bash
_dmraid_formats() {
  "\${1:-dmraid}" -l 2>/dev/null | ${FORMATS_SED}
}

_dmraid() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  case $prev in
${[...cases].map(([action, opts]) => `    ${opts.join('|')})\n      ${action}\n      return ;;`).join('\n')}
  esac
  case $cur in
    -*) COMPREPLY=($(compgen -W '${words}' -- "$cur")) ;;
    *) COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
}
complete -o filenames -F _dmraid dmraid
`;
}

/** A text safe inside a zsh _arguments spec's brackets and single quotes: its first clause, no quoting characters. */
const zshText = (text: string) => text.split(/[;:(]/)[0]!.replace(/[[\]'\\`$]/g, '').replace(/\.$/, '').trim();

export function zshCompletion(rows: readonly OptionRow[] = OPTIONS): string {
  const specs: string[] = [];
  for (const row of rows) {
    const text = zshText(row.man?.text ?? row.help?.[1] ?? '');
    const c = argumentCompletion(row);
    const message = (argumentName(row) ?? 'argument').replace(/[:[\]'\\`$]/g, '');
    const action =
      c.kind === 'formats' ? '_dmraid_formats'
      : c.kind === 'words' ? `(${c.words.join(' ')})`
      : c.kind === 'dirs' ? '_files -/'
      : c.kind === 'files' ? '_files'
      : ' ';
    for (const name of names(row)) {
      const long = name.startsWith('--');
      // `-X+`/`--x=`: the argument in the same word or the next; `-X-`/`--x=-`: optional, in the same word only.
      const form = row.arg === 'required' ? (long ? '=' : '+') : row.arg === 'optional' ? (long ? '=-' : '-') : '';
      const arg = row.arg === 'required' ? `:${message}:${action}` : row.arg === 'optional' ? `::${message}:${action}` : '';
      specs.push(`    '*${name}${form}[${text}]${arg}'`);
    }
  }
  return `#compdef dmraid
# zsh completion for dmraid, made from its option table: dmraid --completion zsh

_dmraid_formats() {
  local -a formats
  formats=(\${(f)"$(_call_program formats \${words[1]} -l 2>/dev/null | ${FORMATS_SED})"})
  _values -s , format $formats
}

_dmraid() {
  _arguments -s \\
${specs.join(' \\\n')} \\
    '*:device or set:_files'
}

_dmraid "$@"
`;
}

export default async function command(ctx: CommandContext): Promise<number> {
  ctx.io.stdout(ctx.o.completionShell === 'zsh' ? zshCompletion() : bashCompletion());
  return 0;
}
