import { addressRefusal, loggedRequestUrl, shownUrl, urlUnderPrefix } from './webhook';

describe('addressRefusal: the addresses a callback may not reach', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['100.64.0.1', 'carrier-grade'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['fec0::1', 'site-local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::192.168.0.1', 'private'],
    ['[::1]', 'loopback'],
  ])('refuses %s (%s)', (ip, why) => {
    expect(addressRefusal(ip)).toContain(why);
  });

  it.each([
    '93.184.215.14',
    '8.8.8.8',
    '172.32.0.1',
    '172.15.255.255',
    '192.169.0.1',
    '100.128.0.1',
    '169.255.0.1',
    '2606:4700::1111',
    '2001:db8::1',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '2a00:1450:4001:80b::200e',
  ])('lets %s through', (ip) => {
    expect(addressRefusal(ip)).toBeNull();
  });

  it('refuses what is not an IP address', () => {
    for (const text of [
      'localhost',
      '1.2.3',
      '1.2.3.4.5',
      '01.2.3.4',
      '256.1.1.1',
      '1::2::3',
      '12345::1',
      'g::1',
      '1:2:3:4:5:6:7:8:9',
      '',
    ]) {
      expect(addressRefusal(text)).toMatch(/not an IP address/);
    }
  });
});

describe('urlUnderPrefix', () => {
  it('matches the same scheme, host and port, and a path under the prefix', () => {
    expect(urlUnderPrefix('https://hooks.example.com/menagerie/a?x=1', 'https://hooks.example.com/menagerie/')).toBe(true);
    expect(urlUnderPrefix('https://hooks.example.com/anything', 'https://hooks.example.com')).toBe(true);
    expect(urlUnderPrefix('HTTPS://Hooks.Example.com/x', 'https://hooks.example.com/')).toBe(true);
  });

  it('is not fooled by a longer host, credentials, another scheme or port, or a path outside', () => {
    expect(urlUnderPrefix('https://hooks.example.com.evil.net/x', 'https://hooks.example.com')).toBe(false);
    expect(urlUnderPrefix('https://hooks.example.com@evil.net/x', 'https://hooks.example.com')).toBe(false);
    expect(urlUnderPrefix('http://hooks.example.com/x', 'https://hooks.example.com')).toBe(false);
    expect(urlUnderPrefix('https://hooks.example.com:8443/x', 'https://hooks.example.com')).toBe(false);
    expect(urlUnderPrefix('https://hooks.example.com/other/x', 'https://hooks.example.com/menagerie/')).toBe(false);
    expect(urlUnderPrefix('not a url', 'https://hooks.example.com')).toBe(false);
  });

  it('compares decoded paths, and refuses encoded separators and dot segments that would leave the prefix', () => {
    const prefix = 'https://hooks.example.com/menagerie/';
    expect(urlUnderPrefix('https://hooks.example.com/menagerie/..%2f..%2fadmin', prefix)).toBe(false);
    expect(urlUnderPrefix('https://hooks.example.com/menagerie/%2e%2e/admin', prefix)).toBe(false);
    // The URL parser resolves an encoded "." segment itself: what is called is /menagerie/x.
    expect(urlUnderPrefix('https://hooks.example.com/menagerie/%2E/x', prefix)).toBe(true);
    expect(urlUnderPrefix('https://hooks.example.com/menagerie/a%5c..%5cadmin', prefix)).toBe(false);
    expect(urlUnderPrefix('https://hooks.example.com/menagerie/../admin', prefix)).toBe(false);
    expect(urlUnderPrefix('https://hooks.example.com/menagerie/bad%zz', prefix)).toBe(false);
    // Encoded letters are the same path.
    expect(urlUnderPrefix('https://hooks.example.com/%6denagerie/a', prefix)).toBe(true);
    expect(urlUnderPrefix('https://hooks.example.com/menagerie/a%20b', prefix)).toBe(true);
  });
});

describe('shownUrl and loggedRequestUrl', () => {
  it('shows a receiver without its query, fragment or user info', () => {
    expect(shownUrl('https://hooks.example.com/cb?token=s3cret')).toBe('https://hooks.example.com/cb?…');
    expect(shownUrl('https://user:pass@hooks.example.com/cb#t=s3cret')).toBe('https://hooks.example.com/cb?…');
    expect(shownUrl('https://hooks.example.com/cb')).toBe('https://hooks.example.com/cb');
    expect(shownUrl('not a url?token=s3cret')).toBe('(not a URL)');
  });

  it('logs a request with its callback shown that way, and every other parameter as it came', () => {
    const callback = encodeURIComponent('https://hooks.example.com/cb?token=s3cret');
    expect(loggedRequestUrl(`/filemeta/upload?force=true&callback=${callback}`)).toBe(
      '/filemeta/upload?force=true&callback=https://hooks.example.com/cb?…',
    );
    expect(loggedRequestUrl(`/submit?engines=auto&%63allback=${callback}`)).toBe(
      '/submit?engines=auto&%63allback=https://hooks.example.com/cb?…',
    );
    expect(loggedRequestUrl('/result/x?wait=60')).toBe('/result/x?wait=60');
    expect(loggedRequestUrl('/jobs')).toBe('/jobs');
    expect(loggedRequestUrl('/submit?callback=%zz')).not.toContain('%zz');
  });
});
