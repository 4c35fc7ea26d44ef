import { describe, expect, it } from 'vitest';
import { clientPrincipalTrust, trustClientPrincipalSetting } from '../../../../dev/host/settings.js';

describe(`${trustClientPrincipalSetting}`, () => {
  it('trusts caller-supplied principals for the exact value "true" only', () => {
    expect(clientPrincipalTrust({ [trustClientPrincipalSetting]: 'true' })).toEqual({ trusted: true });
    expect(clientPrincipalTrust({})).toEqual({ trusted: false });
    expect(clientPrincipalTrust({ [trustClientPrincipalSetting]: 'false' })).toEqual({ trusted: false });
  });

  it('does not trust a value that looks like yes, and says it ignored it', () => {
    for (const value of ['TRUE', 'True', '1', 'yes', ' true', '']) {
      const trust = clientPrincipalTrust({ [trustClientPrincipalSetting]: value });
      expect(trust.trusted, value).toBe(false);
      if (value !== '') expect(trust.ignored, value).toMatch(/only "true" trusts/);
    }
  });
});
