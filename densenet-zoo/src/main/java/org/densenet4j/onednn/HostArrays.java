package org.densenet4j.onednn;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J arrays as memory in this process, for the code that reads or writes them in place (the Java
 * kernels, oneDNN called directly, block copies): whether an array is dense in C order, and where
 * its first element lies. Only meaningful on the CPU backend ({@link #CPU}).
 */
public final class HostArrays {

    /** Whether ND4J runs on its CPU backend, so that arrays live in host memory. */
    public static final boolean CPU = Nd4j.getBackend().getClass().getName().contains(".cpu.");

    /** The alignment of the engines' own buffers: a cache line, as oneDNN's kernels expect. */
    public static final int ALIGNMENT = 64;

    private HostArrays() {
    }

    /** {@code a} itself when it is dense in C order (it can be read in place), else a C-order copy. */
    public static INDArray contiguous(INDArray a) {
        return denseRowMajor(a) ? a : a.dup('c');
    }

    /**
     * Whether {@code a}'s elements lie in C order without gaps. Dimensions of size 1 may carry any
     * stride (ND4J's views of a 1x1 convolution's weights do, and its own default-stride check then
     * says no).
     */
    public static boolean denseRowMajor(INDArray a) {
        long expected = 1;
        for (int d = a.rank() - 1; d >= 0; d--) {
            if (a.size(d) != 1 && a.stride(d) != expected) {
                return false;
            }
            expected *= a.size(d);
        }
        return true;
    }

    /** The address of {@code a}'s first element, as a pointer with no position to add. */
    public static Pointer pointer(INDArray a) {
        return at(address(a));
    }

    /** The address of {@code a}'s first element. */
    public static long address(INDArray a) {
        // The buffer's address already includes its own offset (a view's buffer is a view too);
        // the array's offset counts from the same origin.
        return a.data().addressPointer().address() + (a.offset() - a.data().offset()) * a.dataType().width();
    }

    /** A pointer to {@code address} with no position to add (native calls add a position in bytes or elements). */
    public static Pointer at(long target) {
        return new Pointer() {
            {
                address = target; // not a parameter named 'address': inside, that name is the field
            }
        };
    }

    /** The bytes a block must have so that {@code bytes} of it start at an {@link #ALIGNMENT}-aligned address. */
    public static long alignedSize(long bytes) {
        return bytes + ALIGNMENT - 1;
    }

    /**
     * A block of {@link #alignedSize}({@code bytes}) allocated by JavaCPP, so that it counts against
     * {@code -Dorg.bytedeco.javacpp.maxbytes} (oneDNN's own allocations do not); use it from
     * {@link #alignedAddress}.
     */
    public static BytePointer allocateAligned(long bytes) {
        return new BytePointer(alignedSize(bytes));
    }

    /** The first {@link #ALIGNMENT}-aligned address in {@code block}. */
    public static long alignedAddress(Pointer block) {
        return (block.address() + ALIGNMENT - 1) & -ALIGNMENT;
    }
}
