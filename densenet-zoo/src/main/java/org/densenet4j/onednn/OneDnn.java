package org.densenet4j.onednn;

import java.lang.ref.Reference;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;

import java.util.ArrayList;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * oneDNN itself ({@code org.bytedeco:dnnl}), shared by the helpers that call it directly: loaded
 * once, one CPU engine, one stream per thread. Its OpenMP runtime is the one libnd4j loaded, so
 * both run on one thread pool.
 */
public final class OneDnn {

    /** Whether the natives loaded: false on other backends and where they do not exist or do not load. */
    public static final boolean LOADED = load();
    public static final engine ENGINE = LOADED ? new engine(engine.kind.cpu, 0) : null;
    public static final ThreadLocal<stream> STREAM = ThreadLocal.withInitial(() -> new stream(ENGINE));
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
    /**
     * oneDNN's blocked activation layout on this CPU: channels in blocks of 16 with AVX-512, of 8
     * otherwise (where its JIT kernels for batch norm and convolutions run).
     */
    public static final memory.format_tag BLOCKED = LOADED ? blocked() : null;
    /**
     * Whether oneDNN runs bf16 convolutions in this CPU's own instructions (AVX512_BF16 or AMX, and a
     * kernel for them in this build of oneDNN): elsewhere it emulates bf16, slower than fp32.
     */
    public static final boolean BF16 = LOADED && bf16();
    /**
     * Whether oneDNN uses AMX here (Intel's tile instructions: its fastest bf16 convolutions, which
     * read and write NHWC feature maps only).
     */
    public static final boolean AMX = LOADED && (dnnl.dnnl_get_effective_cpu_isa()
            & dnnl.dnnl_cpu_isa_avx512_core_amx) == dnnl.dnnl_cpu_isa_avx512_core_amx;
    /** Plans a layer keeps (per pass and input shape: training and inference batch sizes, a few image sizes). */
    public static final int KEPT_PLANS = 16;

    private OneDnn() {
    }

    private static memory.format_tag blocked() {
        int isa = dnnl.dnnl_get_effective_cpu_isa();
        boolean avx512 = (isa & dnnl.dnnl_cpu_isa_avx512_core) == dnnl.dnnl_cpu_isa_avx512_core;
        return avx512 ? memory.format_tag.nChw16c : memory.format_tag.nChw8c;
    }

    /** oneDNN's name of the instruction set it uses on this CPU ({@code avx512_core_amx}, {@code avx2}, ...). */
    public static String isa() {
        int isa = dnnl.dnnl_get_effective_cpu_isa();
        String[] names = {"avx512_core_amx", "avx512_core_bf16", "avx512_core_vnni", "avx512_core", "avx2_vnni",
            "avx512_mic_4ops", "avx512_mic", "avx2", "avx", "sse41"};
        int[] values = {dnnl.dnnl_cpu_isa_avx512_core_amx, dnnl.dnnl_cpu_isa_avx512_core_bf16,
            dnnl.dnnl_cpu_isa_avx512_core_vnni, dnnl.dnnl_cpu_isa_avx512_core, dnnl.dnnl_cpu_isa_avx2_vnni,
            dnnl.dnnl_cpu_isa_avx512_mic_4ops, dnnl.dnnl_cpu_isa_avx512_mic, dnnl.dnnl_cpu_isa_avx2,
            dnnl.dnnl_cpu_isa_avx, dnnl.dnnl_cpu_isa_sse41};
        for (int i = 0; i < names.length; i++) {
            if ((isa & values[i]) == values[i]) {
                return names[i];
            }
        }
        return "isa " + isa;
    }

    /**
     * The CPU has AVX512_BF16 (AMX CPUs have it too) and oneDNN gives a bf16 convolution a kernel of
     * its own, not its reference code.
     */
    private static boolean bf16() {
        int bf16 = dnnl.dnnl_cpu_isa_avx512_core_bf16;
        if ((dnnl.dnnl_get_effective_cpu_isa() & bf16) != bf16) {
            return false;
        }
        memory.data_type t = memory.data_type.bf16;
        try (memory.desc src = new memory.desc(new long[] {1, 32, 8, 8}, t, memory.format_tag.any);
             memory.desc w = new memory.desc(new long[] {32, 32, 3, 3}, t, memory.format_tag.any);
             memory.desc dst = new memory.desc(new long[] {1, 32, 8, 8}, t, memory.format_tag.any);
             convolution_forward.desc d = new convolution_forward.desc(dnnl.prop_kind.forward_inference,
                     dnnl.algorithm.convolution_direct, src, w, new memory.desc(), dst, new long[] {1, 1},
                     new long[] {1, 1}, new long[] {1, 1});
             convolution_forward.primitive_desc pd = new convolution_forward.primitive_desc(d, ENGINE)) {
            return !pd.impl_info_str().getString().startsWith("ref");
        } catch (RuntimeException e) { // no bf16 convolution at all
            return false;
        }
    }

    private static boolean load() {
        if (!HostArrays.CPU) {
            return false;
        }
        try {
            Loader.load(dnnl.class);
            return true;
        } catch (Throwable t) { // UnsatisfiedLinkError or a missing class: DL4J's helpers run
            return false;
        }
    }

    /**
     * A layer's kept plans, by pass and input shape: the most recently used {@link #KEPT_PLANS} (or
     * as many as asked), so that a graph fed ever new image sizes does not hold on to primitives and
     * buffers for all of them. A null plan (oneDNN turned the shape down) is kept too, so that oneDNN
     * is not asked again.
     */
    public static final class Plans<P> {
        private final Map<List<Long>, P> byKey;

        public Plans() {
            this(KEPT_PLANS);
        }

        public Plans(int kept) {
            byKey = new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<List<Long>, P> eldest) {
                    return size() > kept;
                }
            };
        }

        /** Removes every kept plan, handing each to {@code release}. */
        public void drain(Consumer<P> release) {
            byKey.values().stream().filter(Objects::nonNull).forEach(release);
            byKey.clear();
        }

        /** The plan for {@code key}, built by {@code build} the first time. */
        public P get(List<Long> key, Supplier<P> build) {
            if (!byKey.containsKey(key)) {
                byKey.put(key, build.get());
            }
            return byKey.get(key);
        }
    }

    /** A memory object without data yet; each call binds the arrays' addresses. */
    public static memory unbound(memory.desc desc) {
        return new memory(desc, ENGINE, new Pointer());
    }

    /**
     * One pass of one shape, built once: oneDNN primitives in order, over memories bound on each call
     * to the caller's arrays ({@code user}, by position) and to per-thread scratch buffers (the copies
     * in another layout that conversions before a primitive fill and conversions after it empty).
     */
    public static final class Plan {
        private final memory[] user;
        private final List<memory> blocked = new ArrayList<>();
        /** The bytes each blocked copy needs, asked of oneDNN once. */
        private final List<Long> blockedBytes = new ArrayList<>();
        private final List<Step> steps = new ArrayList<>();
        private final List<Step> after = new ArrayList<>();
        /** Blocked copies of user inputs already made, so that two primitives share one conversion. */
        private final List<memory[]> converted = new ArrayList<>();

        private record Step(primitive primitive, IntMemoryMap args) {
        }

        /** A plan over the caller's arrays, described by {@code user} (null for an array a call may not have). */
        public Plan(memory... user) {
            this.user = user;
        }

        /** The memory of user array {@code i}. */
        public memory user(int i) {
            return user[i];
        }

        /** The memory a primitive reads user array {@code i} from: the array itself or a blocked copy made first. */
        public memory in(int i, memory.desc wanted) {
            if (wanted.equals(user[i].get_desc())) {
                return user[i];
            }
            for (memory[] pair : converted) {
                if (pair[0] == user[i] && pair[1].get_desc().equals(wanted)) {
                    return pair[1];
                }
            }
            memory copy = blocked(wanted);
            steps.add(conversion(user[i], copy));
            converted.add(new memory[] {user[i], copy});
            return copy;
        }

        /**
         * The memory a primitive writes user array {@code i} to: the array itself or a blocked copy converted after.
         */
        public memory out(int i, memory.desc wanted) {
            if (wanted.equals(user[i].get_desc())) {
                return user[i];
            }
            memory copy = blocked(wanted);
            after.add(conversion(copy, user[i]));
            return copy;
        }

        private memory blocked(memory.desc desc) {
            memory m = unbound(desc);
            blocked.add(m);
            blockedBytes.add(desc.get_size());
            return m;
        }

        /** Adds a primitive after the conversions of its inputs, and the conversions of its outputs after it. */
        public Plan then(primitive primitive, IntMemoryMap args) {
            steps.add(new Step(primitive, args));
            steps.addAll(after);
            after.clear();
            return this;
        }

        private static Step conversion(memory from, memory to) {
            return new Step(new reorder(from, to), args(dnnl.DNNL_ARG_FROM, from, dnnl.DNNL_ARG_TO, to));
        }

        /** Runs the pass on {@code arrays}, in the order of the plan's user memories (null where it has none). */
        public void run(INDArray... arrays) {
            for (int i = 0; i < user.length; i++) {
                if (user[i] != null) {
                    user[i].set_data_handle(HostArrays.pointer(arrays[i]));
                }
            }
            Scratch scratch = SCRATCH.get();
            for (int i = 0; i < blocked.size(); i++) {
                blocked.get(i).set_data_handle(scratch.get(i, blockedBytes.get(i)));
            }
            stream s = STREAM.get();
            for (Step step : steps) {
                step.primitive().execute(s, step.args());
            }
            s._wait();
            Reference.reachabilityFence(arrays); // oneDNN held only their addresses
        }
    }

    /**
     * Per-thread buffers for data in oneDNN's blocked layout, grown to the largest convolution seen:
     * one set for all layers, since each call converts into them, runs and converts back.
     */
    public static final class Scratch {
        private final List<BytePointer> buffers = new ArrayList<>();

        /** A 64-byte-aligned buffer of at least {@code bytes} for slot {@code i}. */
        public Pointer get(int i, long bytes) {
            while (buffers.size() <= i) {
                buffers.add(null);
            }
            BytePointer b = buffers.get(i);
            if (b == null || b.capacity() < HostArrays.alignedSize(bytes)) {
                if (b != null) {
                    b.deallocate();
                }
                b = HostArrays.allocateAligned(bytes);
                buffers.set(i, b);
            }
            return HostArrays.at(HostArrays.alignedAddress(b));
        }
    }

    /** A primitive's arguments: argument kinds ({@code DNNL_ARG_*}) and memories, alternating. */
    public static IntMemoryMap args(Object... kindsAndMemories) {
        IntMemoryMap map = new IntMemoryMap();
        for (int i = 0; i < kindsAndMemories.length; i += 2) {
            map.put((Integer) kindsAndMemories[i], (memory) kindsAndMemories[i + 1]);
        }
        return map;
    }
}
