//! How the parser tests cut their input: every parser test runs on the input whole, byte by
//! byte, split in two at every point, and at pseudo-random points, and all must agree.

/// Splits `input` at `points` (any order, any values: they are taken modulo the length).
pub(crate) fn split_at_points<'a>(input: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = points.iter().map(|p| p % (input.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for point in points {
        chunks.push(&input[start..point]);
        start = point;
    }
    chunks.push(&input[start..]);
    chunks
}

/// The ways every parser test feeds its input: whole, byte by byte (with and without empty
/// chunks in between), split in two at every point, and at pseudo-random points.
pub(crate) fn all_chunkings(input: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut chunkings = vec![vec![input], input.chunks(1).collect()];
    chunkings.push(
        input
            .chunks(1)
            .flat_map(|byte| [byte, &byte[1..]])
            .collect(),
    );
    for point in 0..=input.len() {
        chunkings.push(vec![&input[..point], &input[point..]]);
    }
    // xorshift64: reproducible "random" split points without a dependency.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..32 {
        let points: Vec<usize> = (0..next() % 8).map(|_| next() as usize).collect();
        chunkings.push(split_at_points(input, &points));
    }
    chunkings
}
