import { InvalidArgumentError } from 'commander';

/** Commander option parser: a whole number in `min..max` (inclusive), else a usage error. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number in ${min}..${max}`);
    }
    return n;
  };
}
