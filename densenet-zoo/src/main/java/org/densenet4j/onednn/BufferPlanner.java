package org.densenet4j.onednn;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.bytedeco.dnnl.memory;
import org.bytedeco.javacpp.Pointer;

/**
 * The engines' memory planner: buffers shared by the values of a schedule. A value takes the
 * smallest free buffer that holds it (a buffer grows when none does) and gives it back after its
 * last use, so a plan needs a few buffers, not one per value; memories are made over a buffer
 * before it exists and bound to it by {@link #allocate()}.
 */
public final class BufferPlanner {
    private final List<Long> capacity = new ArrayList<>();
    private final List<Boolean> free = new ArrayList<>();
    private final List<List<Placed>> users = new ArrayList<>();
    private final List<Pointer> owned = new ArrayList<>();

    /** A free buffer of at least {@code bytes}, taken until {@link #release}d: its slot number. */
    public int take(long bytes) {
        int best = -1; // the smallest free buffer that holds it, else the largest free one (to grow)
        for (int i = 0; i < capacity.size(); i++) {
            if (free.get(i) && (best < 0 || better(i, best, bytes))) {
                best = i;
            }
        }
        if (best < 0) {
            capacity.add(bytes);
            free.add(true);
            users.add(new ArrayList<>());
            best = capacity.size() - 1;
        }
        capacity.set(best, Math.max(bytes, capacity.get(best)));
        free.set(best, false);
        return best;
    }

    private boolean better(int slot, int than, long bytes) {
        boolean fits = capacity.get(slot) >= bytes;
        boolean thanFits = capacity.get(than) >= bytes;
        if (fits != thanFits) {
            return fits;
        }
        return fits ? capacity.get(slot) < capacity.get(than) : capacity.get(slot) > capacity.get(than);
    }

    /**
     * A new buffer of {@code bytes} for the whole schedule (never {@link #release}d): one that must
     * not take over a buffer given back, whose later users would then find it taken.
     */
    public int reserve(long bytes) {
        capacity.add(bytes);
        free.add(false);
        users.add(new ArrayList<>());
        return capacity.size() - 1;
    }

    /** Grows slot {@code slot}'s buffer to at least {@code bytes} (a buffer shared by values that never overlap). */
    public void grow(int slot, long bytes) {
        capacity.set(slot, Math.max(bytes, capacity.get(slot)));
    }

    /** The bytes allocated for slot {@code slot}'s buffer as planned so far, alignment slack included. */
    public long capacity(int slot) {
        return HostArrays.alignedSize(capacity.get(slot));
    }

    /** The bytes of all the buffers, as planned so far: what {@link #allocate()} allocates. */
    public long bytes() {
        long total = 0;
        for (int i = 0; i < capacity.size(); i++) {
            total += capacity(i);
        }
        return total;
    }

    /** Gives slot {@code slot} back: a later {@link #take} may share its buffer. */
    public void release(int slot) {
        free.set(slot, true);
    }

    private record Placed(memory memory, long offset) {
    }

    /** A memory of {@code desc} over slot {@code slot}'s buffer (bound when the buffers exist). */
    public memory over(int slot, memory.desc desc) {
        return over(slot, desc, 0);
    }

    /** A memory of {@code desc} starting {@code offset} bytes into slot {@code slot}'s buffer. */
    public memory over(int slot, memory.desc desc, long offset) {
        return place(slot, OneDnn.unbound(desc), offset);
    }

    /**
     * Binds the existing memory {@code m} to slot {@code slot}'s buffer, {@code offset} bytes in, when it is allocated.
     */
    public memory place(int slot, memory m, long offset) {
        users.get(slot).add(new Placed(m, offset));
        return m;
    }

    /** Adds the buffers and the memories made over them to {@code natives}. */
    public void addTo(Set<Pointer> natives) {
        users.forEach(placed -> placed.forEach(p -> natives.add(p.memory())));
        natives.addAll(owned);
    }

    /**
     * Allocates the buffers, {@link HostArrays#ALIGNMENT}-aligned and through JavaCPP so that they count
     * against its native memory limit, and binds every memory made over them.
     *
     * @return the bytes allocated: {@link #bytes()}
     */
    public long allocate() {
        for (int i = 0; i < capacity.size(); i++) {
            Pointer block = HostArrays.allocateAligned(capacity.get(i));
            owned.add(block);
            long base = HostArrays.alignedAddress(block);
            for (Placed p : users.get(i)) {
                p.memory().set_data_handle(HostArrays.at(base + p.offset()));
            }
        }
        return bytes();
    }
}
