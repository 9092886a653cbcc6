package org.densenet4j.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's peak resident memory, as Linux counts it ({@code VmHWM} of {@code /proc/self/status}):
 * the heap, DL4J's off-heap arrays and the engines' buffers together.
 */
public final class PeakMemory {

    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    private PeakMemory() {
    }

    /** The peak resident bytes of this process so far, or -1 where the system does not say (not Linux). */
    public static long residentBytes() {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return -1;
    }

    /**
     * Starts the peak over from the memory resident now (Linux 4.0 and later: "5" written to
     * {@code /proc/self/clear_refs}), so that {@link #residentBytes()} measures what comes next.
     *
     * @return whether the peak was reset (false where the system does not allow it)
     */
    public static boolean reset() {
        try {
            Files.writeString(CLEAR_REFS, "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
