-- Migration 007: the candidate concepts of ambiguous tokens. A word a lexicon lists under several concepts
-- (`orange`: colour and food) gets no label (its `concepts` entry is -1), but its tokens keep the concepts
-- it could mean, so neuron pages can say "ambiguous: colour, food".

-- JSON object from a token's position in the sequence to its sorted candidate concepts, e.g.
-- {"3": ["colour", "food"]}; NULL when no token of the sequence is ambiguous.
ALTER TABLE probe_sequences ADD COLUMN ambiguous TEXT;
