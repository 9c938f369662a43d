import type { Random } from './seeded-random.js';

// No 0/O or 1/I: codes are meant to be read off a screen.
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** One key code shaped like `VOODOO-XXXX-XXXX-XXXX`, drawn from `random`. */
export function generateKeyCode(random: Random): string {
  const groups: string[] = [];
  for (let g = 0; g < 3; g++) {
    let group = '';
    for (let i = 0; i < 4; i++) group += ALPHABET.charAt(Math.floor(random.next() * ALPHABET.length));
    groups.push(group);
  }
  return `VOODOO-${groups.join('-')}`;
}
