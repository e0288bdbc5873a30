// The members of a run's move record: what tells two moves apart, and what decoding refuses.
import { describe, expect, it } from 'vitest';
import { decodeMove, encodeMove, PageMoves } from '../../../core/reroute/move-record.js';

describe('move record members', () => {
  it('tell an entry without a queue from one whose queue is the empty string', () => {
    const moves = new PageMoves();
    moves.add('A', null, 'x');
    moves.add('A', '', 'x');
    moves.add('A', null, 'x');

    expect(moves.members()).toEqual(['["A",null,"x"]', '["A","","x"]']);
  });

  it('decode a move without a queue, and refuse arrays of another length or with a non-string class', () => {
    expect(decodeMove(encodeMove({ routedClass: 'A', from: null, to: 'x' }))).toEqual({ routedClass: 'A', from: null, to: 'x' });
    for (const bad of ['["A","b","c","d"]', '[1,"b","c"]', '"A"', 'null']) expect(decodeMove(bad), bad).toBeNull();
  });
});
