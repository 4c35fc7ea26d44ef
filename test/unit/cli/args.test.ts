import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  parseDigestImage,
  parseEvaluationTarget,
  parseImage,
  parseJsonObject,
  parsePositiveInteger,
  parseSince,
} from '../../../cli/args.js';

const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('image arguments', () => {
  it('reads repository:tag and repository@digest', () => {
    expect(parseImage('team-a/app:v1.2')).toEqual({ repository: 'team-a/app', tag: 'v1.2' });
    expect(parseImage(`team-a/app@${digest}`)).toEqual({ repository: 'team-a/app', digest });
    expect(parseDigestImage(`x/y@${digest}`)).toEqual({ repository: 'x/y', digest });
    expect(parseEvaluationTarget('team-a/app')).toEqual({ repository: 'team-a/app' });
  });

  it.each([
    ['team-a/app', /repository:tag or repository@sha256/],
    ['Team/App:v1', /not a repository name/],
    ['team/app:-bad', /not a valid tag/],
    ['team/app@sha256:abc', /64 lowercase hex/],
  ])('refuses %s as a usage error', (text, message) => {
    expect(() => parseImage(text)).toThrow(InvalidArgumentError);
    expect(() => parseImage(text)).toThrow(message);
  });

  it('wants a digest where conversions are addressed', () => {
    expect(() => parseDigestImage('team/app:v1')).toThrow(/recorded per digest/);
  });
});

describe('other arguments', () => {
  it('numbers must be positive and, where counted, whole', () => {
    expect(parsePositiveInteger('25')).toBe(25);
    expect(() => parsePositiveInteger('0')).toThrow(InvalidArgumentError);
    expect(() => parsePositiveInteger('2.5')).toThrow(/whole number/);
    expect(() => parsePositiveInteger('ten')).toThrow(/positive number/);
  });

  it('JSON input must be an object', () => {
    expect(parseJsonObject('{"mode":"off"}', '--data')).toEqual({ mode: 'off' });
    expect(() => parseJsonObject('[1]', '--data')).toThrow('--data must be a JSON object.');
    expect(() => parseJsonObject('{mode', '--data')).toThrow(/--data is not JSON/);
  });

  it('since takes an ISO time or a duration before now', () => {
    const now = new Date('2025-06-01T12:00:00Z');
    expect(parseSince('2h', now)).toBe('2025-06-01T10:00:00.000Z');
    expect(parseSince('30m', now)).toBe('2025-06-01T11:30:00.000Z');
    expect(parseSince('2025-05-31T00:00:00+02:00', now)).toBe('2025-05-30T22:00:00.000Z');
    expect(() => parseSince('yesterday', now)).toThrow(InvalidArgumentError);
  });
});
