package org.densenet4j.zoo;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.stream;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * oneDNN itself ({@code org.bytedeco:dnnl}), shared by the helpers that call it directly: loaded
 * once, one CPU engine, one stream per thread. Its OpenMP runtime is the one libnd4j loaded, so
 * both run on one thread pool.
 */
final class OneDnn {

    /** Whether the natives loaded: false on other backends and where they do not exist or do not load. */
    static final boolean LOADED = load();
    static final engine ENGINE = LOADED ? new engine(engine.kind.cpu, 0) : null;
    static final ThreadLocal<stream> STREAM = ThreadLocal.withInitial(() -> new stream(ENGINE));
    /** Plans a layer keeps (per pass and input shape: training and inference batch sizes, a few image sizes). */
    static final int KEPT_PLANS = 16;

    private OneDnn() {
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
     * A layer's kept plans, by pass and input shape: the most recently used {@link #KEPT_PLANS}, so
     * that a graph fed ever new image sizes does not hold on to primitives for all of them. A null
     * plan (oneDNN turned the shape down) is kept too, so that oneDNN is not asked again.
     */
    static final class Plans<P> {
        private final Map<List<Long>, P> byKey = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<List<Long>, P> eldest) {
                return size() > KEPT_PLANS;
            }
        };

        /** The plan for {@code key}, built by {@code build} the first time. */
        P get(List<Long> key, Supplier<P> build) {
            if (!byKey.containsKey(key)) {
                byKey.put(key, build.get());
            }
            return byKey.get(key);
        }
    }

    /** A memory object without data yet; each call binds the arrays' addresses. */
    static memory unbound(memory.desc desc) {
        return new memory(desc, ENGINE, new Pointer());
    }

    /** One primitive with its operands, which each run binds to the caller's arrays, in order. */
    record Bound(primitive primitive, memory[] operands, IntMemoryMap args) {

        void run(INDArray... arrays) {
            for (int i = 0; i < operands.length; i++) {
                operands[i].set_data_handle(HostArrays.pointer(arrays[i]));
            }
            stream s = STREAM.get();
            primitive.execute(s, args);
            s._wait();
        }
    }

    /** A primitive's arguments: argument kinds ({@code DNNL_ARG_*}) and memories, alternating. */
    static IntMemoryMap args(Object... kindsAndMemories) {
        IntMemoryMap map = new IntMemoryMap();
        for (int i = 0; i < kindsAndMemories.length; i += 2) {
            map.put((Integer) kindsAndMemories[i], (memory) kindsAndMemories[i + 1]);
        }
        return map;
    }
}
