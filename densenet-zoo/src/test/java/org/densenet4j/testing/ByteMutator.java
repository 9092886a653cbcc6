package org.densenet4j.testing;

import java.util.Arrays;
import java.util.Random;

/**
 * Byte-level damage for fuzz tests: bit flips, truncation, overwritten runs, garbage in the first
 * bytes (where file formats keep their headers) and appended garbage. Deterministic for a seed.
 */
public final class ByteMutator {

    /**
     * A damaged copy of a file, and the most 4-byte values of the original's content it can have
     * changed (a flip changes one; a run of bytes those it overlaps; cutting or appending none).
     */
    public record Mutation(String kind, byte[] bytes, int changedFloats) {
    }

    /** The kinds, in the order {@link #mutate} cycles through them. */
    public static final String[] KINDS = {"bit flips", "truncation", "overwritten bytes", "header bytes",
            "appended garbage"};

    private final Random rnd;

    /** A mutator drawing from a generator seeded with {@code seed}. */
    public ByteMutator(long seed) {
        this.rnd = new Random(seed);
    }

    /** A mutation of {@code original} of kind {@code KINDS[kind % KINDS.length]}. */
    public Mutation mutate(byte[] original, int kind) {
        byte[] b = original.clone();
        int n = b.length;
        return switch (kind % KINDS.length) {
            case 0 -> {
                int flips = 1 + rnd.nextInt(8);
                for (int k = 0; k < flips; k++) {
                    b[rnd.nextInt(n)] ^= (byte) (1 << rnd.nextInt(8));
                }
                yield new Mutation(KINDS[0], b, flips);
            }
            case 1 -> new Mutation(KINDS[1], Arrays.copyOf(b, rnd.nextInt(n)), 0);
            case 2 -> {
                int len = 1 + rnd.nextInt(Math.min(64, n - 1));
                int at = rnd.nextInt(n - len);
                int fill = rnd.nextInt(3);
                for (int k = 0; k < len; k++) {
                    b[at + k] = fill == 0 ? 0 : fill == 1 ? (byte) 0xff : (byte) rnd.nextInt(256);
                }
                yield new Mutation(KINDS[2], b, floatsTouched(len));
            }
            case 3 -> {
                int len = Math.min(8, n);
                int at = rnd.nextInt(Math.min(n, 4096) - len + 1);
                for (int k = 0; k < len; k++) {
                    b[at + k] = (byte) rnd.nextInt(256);
                }
                yield new Mutation(KINDS[3], b, floatsTouched(len));
            }
            default -> {
                byte[] longer = Arrays.copyOf(b, n + 1 + rnd.nextInt(4096));
                for (int k = n; k < longer.length; k++) {
                    longer[k] = (byte) rnd.nextInt(256);
                }
                yield new Mutation(KINDS[4], longer, 0);
            }
        };
    }

    /** The number of 4-byte values a run of {@code bytes} bytes can overlap. */
    private static int floatsTouched(int bytes) {
        return (bytes + 3) / 4 + 1;
    }
}
