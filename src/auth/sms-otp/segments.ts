// GSM 03.38's basic character set: a message of these alone travels 7 bits a character.
const GSM_BASIC = /^[@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&'()*+,\-./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà]*$/;
// The extension table: each of these takes two of the seven-bit characters.
const GSM_EXTENDED = /[\f^{}\\[~\]|€]/g;

/**
 * How many segments a message is billed as: up to 160 GSM characters in one (153 each when split), or
 * 70 UCS-2 code units (67 when split) as soon as one character is outside the GSM alphabet, as any
 * Japanese is.
 */
export function smsSegments(body: string): number {
  const withoutExtended = body.replace(GSM_EXTENDED, '');
  if (GSM_BASIC.test(withoutExtended)) {
    const septets = body.length + (body.length - withoutExtended.length);
    return septets <= 160 ? 1 : Math.ceil(septets / 153);
  }
  return body.length <= 70 ? 1 : Math.ceil(body.length / 67);
}
