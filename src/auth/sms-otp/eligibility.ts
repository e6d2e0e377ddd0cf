import type { Member } from '../../store/port.ts';

// Japanese mobile numbers: 070, 080 and 090 (E.164: +81 70/80/90 and eight more digits). 050 numbers
// are IP phones, which prove no device (NIST SP 800-63B), and landlines cannot receive SMS.
const JAPANESE_MOBILE = /^\+81[789]0\d{8}$/;

/** SMS verification is offered only to members residing in Japan, on a Japanese mobile number. */
export function canReceiveSmsCodes(member: Pick<Member, 'country' | 'phone'>): boolean {
  return member.country === 'JP' && JAPANESE_MOBILE.test(member.phone);
}
