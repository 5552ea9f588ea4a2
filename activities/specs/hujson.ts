/**
 * HuJSON, the format of Tailscale's config files (JSON plus comments and trailing commas,
 * https://github.com/tailscale/hujson): the one parser the operator and the proxy stand-in share.
 */
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';

export class HujsonSyntaxError extends Error {
  override readonly name = 'HujsonSyntaxError';
}

/** The value of a HuJSON document; throws `HujsonSyntaxError` on anything that is not valid HuJSON. */
export function parseHujson(text: string): unknown {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, {
    disallowComments: false,
    allowTrailingComma: true,
    allowEmptyContent: false,
  });
  const first = errors[0];
  if (first) {
    const { line, column } = position(text, first.offset);
    throw new HujsonSyntaxError(
      `invalid HuJSON at line ${line} column ${column}: ${printParseErrorCode(first.error)}`,
    );
  }
  return value;
}

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}
