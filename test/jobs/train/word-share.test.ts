// The sample's share of training-text words on hand-made texts whose answers are counted by hand:
// what a word is (whitespace pieces, edge punctuation stripped, lowercased), which words are the
// prompt's, and the line `scion train` prints.

import { describe, expect, it } from 'vitest';
import { wordSetOf, wordShare, wordShareLine, wordsOf } from '../../../jobs/train/word-share.ts';
import { shareSpread } from '../../../bench/sample-words.ts';

const CORPUS = ['The jury said Friday that the "election" was fair.', "It's over -- the Mayor's men went home."];

describe('wordsOf', () => {
  it('splits on whitespace, strips edge punctuation, lowercases, drops punctuation alone', () => {
    expect(wordsOf('The  "jury" said,\nFriday -- it\'s (over).')).toEqual(['the', 'jury', 'said', 'friday', "it's", 'over']);
    expect(wordsOf("hard-fought 1961 Mayor's")).toEqual(['hard-fought', '1961', "mayor's"]);
    expect(wordsOf(' \n ... -- ')).toEqual([]);
  });
});

describe('wordSetOf', () => {
  it('holds every word of every text once', () => {
    const set = wordSetOf(CORPUS);
    expect([...set].sort()).toEqual(
      ["it's", "mayor's", 'election', 'fair', 'friday', 'home', 'jury', 'men', 'over', 'said', 'that', 'the', 'was', 'went'].sort(),
    );
  });
});

describe('wordShare', () => {
  const known = wordSetOf(CORPUS);

  it('counts the words after the prompt: 3 of 5 known', () => {
    // "jury", "said", "fair" are known; "blorf" and "zzt" are not; the prompt's "The" is not counted.
    expect(wordShare('The', ' jury said blorf, zzt fair.', known)).toEqual({ known: 3, total: 5, share: 0.6 });
  });

  it("leaves a longer prompt's words out, so the prompt buys no share", () => {
    expect(wordShare('The jury said that', ' blorf was', known)).toEqual({ known: 1, total: 2, share: 0.5 });
    expect(wordShare('The jury said that ', 'blorf was', known)).toEqual({ known: 1, total: 2, share: 0.5 });
  });

  it("counts a word the sample finishes whole, as the reader sees it ('The' + 'ory' is 'theory')", () => {
    expect(wordShare('The', 'ory went home', known)).toEqual({ known: 2, total: 3, share: 2 / 3 });
    expect(wordShare('jur', 'y men', known)).toEqual({ known: 2, total: 2, share: 1 });
  });

  it("keeps the prompt's last word the prompt's when punctuation follows it", () => {
    expect(wordShare('The', ', men.', known)).toEqual({ known: 1, total: 1, share: 1 });
    expect(wordShare('The', "'s blorf", known)).toEqual({ known: 0, total: 1, share: 0 });
  });

  it('has no share for a sample without words, and counts everything after an empty prompt', () => {
    expect(wordShare('The', '', known)).toEqual({ known: 0, total: 0, share: null });
    expect(wordShare('The', ' -- ...', known)).toEqual({ known: 0, total: 0, share: null });
    expect(wordShare('', 'The Jury SAID', known)).toEqual({ known: 3, total: 3, share: 1 });
  });
});

describe('wordShareLine and shareSpread', () => {
  it('prints the count, the total and the rounded percentage', () => {
    expect(wordShareLine({ known: 3, total: 5, share: 0.6 })).toBe('3 of 5 words (60%) are words of the training text');
    expect(wordShareLine({ known: 2, total: 3, share: 2 / 3 })).toBe('2 of 3 words (67%) are words of the training text');
    expect(wordShareLine({ known: 0, total: 0, share: null })).toBe('0 of 0 words (–) are words of the training text');
  });

  it('averages the shares over seeds and reports the lowest, leaving out samples without words', () => {
    const s = shareSpread([
      { known: 3, total: 4, share: 0.75 },
      { known: 1, total: 2, share: 0.5 },
      { known: 0, total: 0, share: null },
    ]);
    expect(s.mean).toBeCloseTo(0.625, 12);
    expect(s.min).toBe(0.5);
  });
});
