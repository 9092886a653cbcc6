package org.densenet4j.engine;

import java.util.Map;

import org.bytedeco.dnnl.memory;
import org.densenet4j.engine.ir.Graph;
import org.densenet4j.engine.ir.Node;
import org.densenet4j.onednn.OneDnn;

/**
 * The engines' one choice of the layout their feature maps stay in, from the first convolution to
 * the classifier: oneDNN's blocked layout (nChw16c with AVX-512, nChw8c otherwise) when every
 * feature map's channel count fills whole blocks, else NHWC, unless {@link EngineOptions#layout()}
 * names one. In bf16 on a CPU with AMX, NHWC: oneDNN's AMX convolutions read only that, and
 * DenseNet-121 ran 4-6x faster in it than in blocked bf16 (whose kernels, without AMX, were slower
 * than fp32's).
 */
final class Layouts {

    private Layouts() {
    }

    /**
     * The layout of {@code graph}'s feature maps; the input, which the first convolution reads as
     * NCHW, counts with {@code inputChannels} (0 to leave it out).
     *
     * @throws IllegalArgumentException when the layout named in {@code options} does not fit a
     *         feature map's channels, naming it
     */
    static memory.format_tag choose(Graph graph, long inputChannels, EngineOptions options) {
        String forced = options.layout().orElse(null);
        if (forced == null && options.precision() == Precision.BF16 && OneDnn.AMX) {
            return memory.format_tag.nhwc;
        }
        memory.format_tag tag = forced != null ? memory.format_tag.valueOf(forced) : OneDnn.BLOCKED;
        int block = tag == memory.format_tag.nChw16c ? 16 : tag == memory.format_tag.nChw8c ? 8 : 1;
        Map<String, Long> channels = graph.channels(inputChannels);
        for (Node n : graph.nodes()) {
            if (!(n instanceof Node.Dense) && channels.get(n.name()) % block != 0) {
                if (forced != null) {
                    throw new IllegalArgumentException("layout " + forced + ": '" + n.name() + "' has "
                            + channels.get(n.name()) + " channels, not whole blocks of " + block);
                }
                return memory.format_tag.nhwc;
            }
        }
        return tag;
    }
}
