import { describe, expect, it } from 'vitest';
import { canonicalString, readEnvelope, type SnsEnvelope, snsUrl } from './sns.js';

describe('SNS URL pinning', () => {
  it.each([
    'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem',
    'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem',
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
    'https://sns.us-east-1.amazonaws.com/cert.txt',
    'not a url',
  ])('refuses %s', (url) => {
    expect(snsUrl(url, '.pem')).toBeNull();
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
