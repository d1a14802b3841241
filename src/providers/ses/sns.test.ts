import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalString, certificateStore, readEnvelope, type SnsEnvelope, snsUrl } from './sns.js';

/** A self-signed certificate with the given subject, made at test time. */
function certificate(subject: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sns-cert-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', subject].concat([
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ]),
      { stdio: 'ignore' },
    );
    return readFileSync(join(dir, 'cert.pem'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('SNS URL pinning', () => {
  it.each([
    'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem',
    'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem',
    'https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-abc.pem',
    'https://sns.ap-southeast-2.amazonaws.com/SimpleNotificationService-abc.pem',
  ])('accepts %s', (url) => {
    expect(snsUrl(url, '.pem')?.toString()).toBe(url);
  });

  it.each([
    'http://sns.us-east-1.amazonaws.com/cert.pem',
    'https://sns.us-east-1.amazonaws.com.evil.example/cert.pem',
    'https://evil.example/sns.us-east-1.amazonaws.com/cert.pem',
    'https://sns.us-east-1.amazonaws.com:8443/cert.pem',
    'https://user:pw@sns.us-east-1.amazonaws.com/cert.pem',
    'https://s3.amazonaws.com/cert.pem',
    // Other services' hosts under amazonaws.com that a looser pattern let through.
    'https://sns.s3.amazonaws.com/cert.pem',
    'https://sns.evil-bucket.amazonaws.com/cert.pem',
    'https://sns.us-east-1.s3.amazonaws.com/cert.pem',
    'https://sns.us-east-1.amazonaws.com/cert.txt',
    'not a url',
  ])('refuses %s', (url) => {
    expect(snsUrl(url, '.pem')).toBeNull();
  });
});

describe('SNS signing certificates', () => {
  const url = new URL('https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem');

  it('accepts a certificate issued to SNS and keeps it', async () => {
    const cert = certificate('/CN=sns.amazonaws.com');
    let fetches = 0;
    const store = certificateStore(async () => {
      fetches++;
      return { status: 200, body: cert };
    }, Date.now);
    expect(await store(url)).not.toBeNull();
    expect(await store(url)).not.toBeNull();
    expect(fetches).toBe(1);
  });

  it('refuses a certificate whose subject is not SNS', async () => {
    const cert = certificate('/CN=attacker.example');
    const store = certificateStore(async () => ({ status: 200, body: cert }), Date.now);
    expect(await store(url)).toBeNull();
  });

  it('remembers a failed fetch for a while instead of fetching again', async () => {
    let fetches = 0;
    let clock = Date.now();
    const store = certificateStore(
      async () => {
        fetches++;
        return { status: 404, body: '' };
      },
      () => clock,
    );
    for (let i = 0; i < 20; i++) expect(await store(url)).toBeNull();
    expect(fetches).toBe(1);
    clock += 61_000;
    expect(await store(url)).toBeNull();
    expect(fetches).toBe(2);
  });
});

describe('the canonical string SNS signs', () => {
  const base = {
    MessageId: 'm-1',
    TopicArn: 'arn:aws:sns:us-east-1:123456789012:t',
    Message: 'hello\nworld',
    Timestamp: '2024-01-01T00:00:00.000Z',
    SignatureVersion: '2',
    Signature: 'x',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/c.pem',
  } as const;

  it('lists Message, MessageId, Subject (when present), Timestamp, TopicArn, Type for a notification', () => {
    const env = { ...base, Type: 'Notification', Subject: 'Hi' } as SnsEnvelope;
    expect(canonicalString(env)).toBe(
      'Message\nhello\nworld\nMessageId\nm-1\nSubject\nHi\nTimestamp\n2024-01-01T00:00:00.000Z\n' +
        'TopicArn\narn:aws:sns:us-east-1:123456789012:t\nType\nNotification\n',
    );
    expect(canonicalString({ ...env, Subject: undefined } as SnsEnvelope)).not.toContain('Subject');
  });

  it('adds SubscribeURL and Token for a subscription confirmation', () => {
    const env = {
      ...base,
      Type: 'SubscriptionConfirmation',
      SubscribeURL: 'https://s',
      Token: 't',
    } as SnsEnvelope;
    expect(canonicalString(env)).toBe(
      'Message\nhello\nworld\nMessageId\nm-1\nSubscribeURL\nhttps://s\nTimestamp\n2024-01-01T00:00:00.000Z\n' +
        'Token\nt\nTopicArn\narn:aws:sns:us-east-1:123456789012:t\nType\nSubscriptionConfirmation\n',
    );
  });

  it('reads only complete envelopes of known types and versions', () => {
    expect(readEnvelope({ ...base, Type: 'Notification' })).not.toBeNull();
    expect(readEnvelope({ ...base, Type: 'Notification', SignatureVersion: '3' })).toBeNull();
    expect(readEnvelope({ ...base, Type: 'Other' })).toBeNull();
    expect(readEnvelope({ ...base, Type: 'SubscriptionConfirmation' })).toBeNull();
    expect(readEnvelope({ ...base, Type: 'Notification', Message: 42 })).toBeNull();
    expect(readEnvelope([])).toBeNull();
  });
});
