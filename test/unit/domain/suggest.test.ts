import { describe, expect, it } from 'vitest';
import { closest, didYouMean, editDistance } from '../../../src/domain/suggest';

describe('editDistance', () => {
  it.each([
    ['identical words', 'vm_type', 'vm_type', 0],
    ['one letter dropped', 'vm_typ', 'vm_type', 1],
    ['two letters swapped counts once', 'instnaces', 'instances', 1],
    ['one letter changed', 'smal', 'small', 1],
    ['from nothing', '', 'abc', 3],
  ])('%s: %s → %s is %i', (_name, a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe('did you mean', () => {
  const groupKeys = ['name', 'instances', 'azs', 'vm_type', 'stemcell', 'networks', 'env'];
  it.each([
    ['a dropped letter', 'vm_typ', groupKeys, "did you mean 'vm_type'?"],
    ['swapped letters', 'instnaces', groupKeys, "did you mean 'instances'?"],
    ['a different case', 'VM_TYPE', groupKeys, "did you mean 'vm_type'?"],
    ['a name one letter short', 'smal', ['small', 'medium', 'large'], "did you mean 'small'?"],
    ['nothing close', 'colour', groupKeys, null],
    ['a short word does not stretch to a different short word', 'os', ['azs', 'env'], null],
    ['a tie between two candidates gives no guess', 'z3', ['z1', 'z2'], null],
    ['no candidates', 'x', [], null],
  ])('%s: %s', (_name, word, candidates, hint) => {
    expect(didYouMean(word, candidates)).toBe(hint);
  });

  it('does not depend on the order of the candidates', () => {
    expect(closest('meduim', ['small', 'medium', 'large'])).toBe('medium');
    expect(closest('meduim', ['large', 'medium', 'small'])).toBe('medium');
  });
});
