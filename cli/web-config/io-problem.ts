/**
 * A file error without the path Node puts in its message (`ENOENT: no such file or directory,
 * open '/x'`): the caller's message names the file once, as the operator wrote it.
 */
export function ioProblem(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && err.message.startsWith(`${code}: `)) return err.message.replace(/, \w+ '[^']*'$/, '');
  return err.message;
}
