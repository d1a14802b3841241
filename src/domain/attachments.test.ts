import { describe, expect, it } from 'vitest';
import { checkAttachments, decodeBase64, EXECUTABLE_EXTENSIONS, extensionOf } from './attachments.js';

describe('attachment rules', () => {
  it('decodes strict base64 only, in linear time on large input', () => {
    expect(decodeBase64('aGVsbG8=')?.toString()).toBe('hello');
    expect(decodeBase64('aGVs\r\nbG8=')?.toString()).toBe('hello');
    expect(decodeBase64('aGVsbG8')?.toString()).toBe('hello');
    for (const bad of ['aGVsbG8=x', 'a', '****', 'aGVsbG8===', 'ab=c']) {
      expect(decodeBase64(bad)).toBeNull();
    }
    const big = 'A'.repeat(20_000_000);
    const t = Date.now();
    expect(decodeBase64(`${big}!`)).toBeNull();
    expect(Date.now() - t).toBeLessThan(5000);
  });

  it('finds the extension past trailing dots and spaces, in any case', () => {
    expect(extensionOf('Setup.EXE')).toBe('exe');
    expect(extensionOf('report.pdf.exe. ')).toBe('exe');
    expect(extensionOf('README')).toBe('');
    for (const ext of ['exe', 'bat', 'js', 'vbs', 'scr', 'msi', 'ps1', 'jar', 'cmd', 'com', 'lnk']) {
      expect(EXECUTABLE_EXTENSIONS.has(ext)).toBe(true);
    }
    expect(EXECUTABLE_EXTENSIONS.has('pdf')).toBe(false);
  });

  it('names every problem and its kind', () => {
    const { problems, attachments } = checkAttachments(
      [
        { filename: 'ok.pdf', content: 'AAAA', content_type: 'application/pdf', content_id: 'a' },
        { filename: 'x.exe', content: 'AAAA' },
        { filename: 'dup.png', content: 'AAAA', content_id: 'a' },
        { filename: 'bad type.txt', content: 'AAAA', content_type: 'text/plain; charset=utf-8' },
        { filename: 'a/b.txt', content: 'AAAA' },
      ],
      5,
    );
    expect(problems).toEqual([
      { field: 'attachments[1].filename', message: expect.stringContaining('.exe'), kind: 'forbidden' },
      { field: 'attachments[2].content_id', message: 'is used by another attachment', kind: 'invalid' },
      { field: 'attachments[3].content_type', message: expect.any(String), kind: 'invalid' },
      { field: 'attachments[4].filename', message: 'must not contain a path separator', kind: 'invalid' },
      {
        field: 'attachments',
        message: expect.stringContaining('must not exceed 5 bytes'),
        kind: 'too_large',
      },
    ]);
    expect(attachments[0]).toMatchObject({
      filename: 'ok.pdf',
      contentType: 'application/pdf',
      contentId: 'a',
    });
  });
});
