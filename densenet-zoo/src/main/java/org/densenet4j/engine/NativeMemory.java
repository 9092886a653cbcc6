package org.densenet4j.engine;

import java.util.Locale;

import org.bytedeco.javacpp.Pointer;

/**
 * The native (off-heap) memory JavaCPP lets this process allocate, and the check a large allocation
 * makes first. ND4J's arrays and the compiled engines' buffers are JavaCPP allocations, bounded by
 * {@code -Dorg.bytedeco.javacpp.maxbytes} (default: the heap's {@code -Xmx}) and by
 * {@code -Dorg.bytedeco.javacpp.maxphysicalbytes} (the process's resident size).
 */
public final class NativeMemory {

    private NativeMemory() {
    }

    /** A planned allocation that does not fit in what JavaCPP may still allocate. */
    public static final class TooLargeException extends IllegalStateException {
        private final long needed;
        private final long available;

        TooLargeException(String message, long needed, long available) {
            super(message);
            this.needed = needed;
            this.available = available;
        }

        /** The bytes the allocation needs. */
        public long needed() {
            return needed;
        }

        /** The bytes that were available. */
        public long available() {
            return available;
        }
    }

    /** The bytes JavaCPP may still allocate: the smaller of what both its limits leave, or Long.MAX_VALUE. */
    public static long available() {
        long available = Long.MAX_VALUE;
        if (Pointer.maxBytes() > 0) {
            available = Math.min(available, Pointer.maxBytes() - Pointer.totalBytes());
        }
        if (Pointer.maxPhysicalBytes() > 0) {
            available = Math.min(available, Pointer.maxPhysicalBytes() - Pointer.physicalBytes());
        }
        return Math.max(0, available);
    }

    /**
     * Fails, before anything is allocated, when {@code bytes} more do not fit.
     *
     * @param what   what needs the memory, e.g. "training a batch of [32, 3, 224, 224]"
     * @param remedy the first remedy to name, e.g. "train a smaller batch"
     * @throws TooLargeException naming what needs the memory, the bytes needed and available, and the remedies
     */
    public static void check(long bytes, String what, String remedy) {
        long available = available();
        if (bytes > available) {
            throw new TooLargeException(String.format(Locale.ROOT,
                    "%s needs %s of native memory, but only %s are available "
                    + "(JavaCPP's limits: maxbytes %s with %s in use, maxphysicalbytes %s with %s resident): %s, or "
                    + "allow more with -Dorg.bytedeco.javacpp.maxbytes=SIZE and "
                    + "-Dorg.bytedeco.javacpp.maxphysicalbytes=SIZE "
                    + "(the densenet launcher: DENSENET_NATIVE_MEMORY=SIZE, e.g. 16g)", what, mb(bytes), mb(available),
                    mb(Pointer.maxBytes()), mb(Pointer.totalBytes()),
                    mb(Pointer.maxPhysicalBytes()), mb(Pointer.physicalBytes()), remedy), bytes, available);
        }
    }

    private static String mb(long bytes) {
        return String.format(Locale.ROOT, "%,d MB", bytes / (1024 * 1024));
    }
}
