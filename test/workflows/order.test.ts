import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { byCodeUnits } from '../../workflows/order';

describe('workflow string order', () => {
  it('sorts by code units, where an ICU collation would not', () => {
    const names = [
      'services/web/a',
      'services/Web/b',
      'services/wéb/c',
      'services/web-2/d',
      'services/web/A',
    ];
    expect([...names].sort(byCodeUnits)).toEqual([
      'services/Web/b',
      'services/web-2/d',
      'services/web/A',
      'services/web/a',
      'services/wéb/c',
    ]);
    // The order a collation gives differs (case and accents are secondary there): what was replaced.
    expect([...names].sort((a, b) => a.localeCompare(b, 'en'))).not.toEqual([...names].sort(byCodeUnits));
  });

  it('is what workflow code uses: no locale-dependent comparison in workflows/', () => {
    const dir = join(__dirname, '../../workflows');
    const offenders = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) =>
        readFileSync(join(dir, f), 'utf8')
          .split('\n')
          .map((line, i) => ({ where: `${f}:${i + 1}`, line }))
          .filter(
            ({ line }) =>
              !/^\s*(\*|\/\/)/.test(line) && /localeCompare|\bIntl\.|toLocale\w*String/.test(line),
          )
          .map(({ where }) => where),
      );
    expect(offenders).toEqual([]);
  });
});
