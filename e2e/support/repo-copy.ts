import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './compose.js';

const run = promisify(execFile);

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RepoCopy {
  root: string;
  /** Links every workspace in the copy as `npm install` would, without a network install. */
  linkWorkspaces: () => void;
  /** Runs a TypeScript entry point of the copy with Node and tsx; never throws, the exit code is in the result. */
  runTs: (entry: string, args: string[]) => Promise<RunResult>;
  /** Runs a JavaScript entry point (a tool in node_modules) in the copy, the same way. */
  runJs: (entry: string, args: string[]) => Promise<RunResult>;
  remove: () => void;
}

/**
 * The repository as git sees it (tracked files and new ones that are not ignored) in a temporary
 * directory, with the root node_modules linked entry by entry and @hubspoke/* pointing into the copy.
 * The kit's build output is copied when there is one (CI type-checks first), so `tsc -b` there only
 * builds what the copy adds.
 */
export function copyRepository(): RepoCopy {
  const root = mkdtempSync(join(tmpdir(), 'hubspoke-copy-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\0');
  for (const file of files) {
    if (!file || !existsSync(join(REPO_ROOT, file))) continue; // deleted in the working tree, not yet in git
    mkdirSync(join(root, file, '..'), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(root, file), { preserveTimestamps: true });
  }
  if (existsSync(join(REPO_ROOT, 'packages/kit/dist/.tsbuildinfo'))) {
    cpSync(join(REPO_ROOT, 'packages/kit/dist'), join(root, 'packages/kit/dist'), { recursive: true, preserveTimestamps: true });
  }
  mkdirSync(join(root, 'node_modules/@hubspoke'), { recursive: true });
  for (const entry of readdirSync(join(REPO_ROOT, 'node_modules'))) {
    if (entry !== '@hubspoke') symlinkSync(join(REPO_ROOT, 'node_modules', entry), join(root, 'node_modules', entry));
  }
  const linkWorkspaces = () => {
    const workspaces = ['packages', 'spokes'].flatMap((parent) => readdirSync(join(root, parent)).map((dir) => join(root, parent, dir))).concat(join(root, 'hub-orchestrator'));
    for (const dir of workspaces) {
      if (!existsSync(join(dir, 'package.json'))) continue;
      const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string };
      const link = join(root, 'node_modules', name);
      if (!existsSync(link)) symlinkSync(relative(join(link, '..'), dir), link);
    }
  };
  linkWorkspaces();
  return {
    root,
    linkWorkspaces,
    runTs: (entry, args) => runNode(root, ['--import', 'tsx', entry, ...args]),
    runJs: (entry, args) => runNode(root, [entry, ...args]),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

async function runNode(cwd: string, args: string[]): Promise<RunResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
