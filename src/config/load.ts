/**
 * Reads the YAML configuration and reports every problem at once, each with
 * its path in the file (`certificates[1].cert`), its line, and a hint
 * (changesets' style: one pass, all errors, nothing written).
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isMap } from 'yaml';
import type { ZodIssue } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors/index.js';
import { crossCheck } from './checks.js';
import { configSchema, formatPath, type Config } from './schema.js';

export const DEFAULT_CONFIG_PATH = '/etc/tlskeeper/config.yaml';

/** `--config`, else `$TLSKEEPER_CONFIG`, else /etc/tlskeeper/config.yaml. */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.TLSKEEPER_CONFIG ?? DEFAULT_CONFIG_PATH;
}

export async function loadConfig(file: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [{
      path: '(file)',
      message: code === 'ENOENT' ? 'the configuration file does not exist' : `cannot read the configuration file (${code ?? String(err)})`,
      hint: code === 'ENOENT' ? 'create it (see README.md, "Configuration"), or point --config / $TLSKEEPER_CONFIG at yours' : 'check its permissions',
    }], err);
  }
  return parseConfig(text, file);
}

/** Pure: YAML text → validated config, or a ConfigError listing every problem. */
export function parseConfig(text: string, file = '<config>'): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(file, doc.errors.map((e) => ({
      path: '(yaml)',
      message: e.message.split('\n')[0] ?? e.message,
      hint: 'fix the YAML syntax (indentation with spaces, a colon after each key)',
      line: lineCounter.linePos(e.pos[0]).line,
    })));
  }
  const raw: unknown = doc.toJS() ?? {};
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new ConfigError(file, [{ path: '(top level)', message: 'the configuration must be a mapping of keys', hint: 'start with state_dir:, certificates:, …' }]);
  }
  const result = configSchema.safeParse(raw);
  const extra = crossCheck(raw);
  if (result.success && extra.length === 0) return result.data;

  const lineOf = (path: (string | number)[]): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const issues = [
    ...(result.success ? [] : result.error.issues.flatMap((issue) => toConfigIssues(issue, lineOf))),
    ...extra.map(({ pathParts, ...issue }) => {
      const line = lineOf(pathParts);
      return line ? { ...issue, line } : issue;
    }),
  ];
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  throw new ConfigError(file, issues);
}

function toConfigIssues(issue: ZodIssue, lineOf: (p: (string | number)[]) => number | undefined): ConfigIssue[] {
  const at = (path: (string | number)[], message: string, hint?: string): ConfigIssue => {
    const line = lineOf(path);
    return { path: formatPath(path), message, ...(hint ? { hint } : {}), ...(line ? { line } : {}) };
  };
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => at([...issue.path, k], `unknown key "${k}"`, 'remove it or correct its spelling (README.md lists every key)'));
    case 'invalid_type':
      if (issue.received === 'undefined') return [at(issue.path, 'is required', 'add this key')];
      return [at(issue.path, `must be ${issue.expected}, not ${issue.received}`)];
    case 'invalid_literal':
      return [at(issue.path, `must be ${JSON.stringify(issue.expected)}`)];
    case 'invalid_enum_value':
      return [at(issue.path, `must be one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}, not ${JSON.stringify(issue.received)}`)];
    case 'invalid_union':
      return [at(issue.path, issue.message === 'Invalid input' ? 'has the wrong type' : issue.message)];
    case 'too_small':
    case 'too_big':
    case 'invalid_string':
      return [at(issue.path, issue.message)];
    default: {
      const hint = (issue as { params?: { hint?: string } }).params?.hint;
      return [at(issue.path, issue.message, hint)];
    }
  }
}
