package org.densenet4j.zoo;

import org.densenet4j.zoo.DenseNetConfig.Builder;
import org.densenet4j.zoo.DenseNetConfig.Pooling;
import org.densenet4j.zoo.DenseNetConfig.Stem;
import org.nd4j.shade.jackson.databind.node.ArrayNode;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

/**
 * The JSON form of a DenseNet architecture ({@link DenseNetConfig#toJson}, {@link DenseNetConfig#fromJson}):
 * one key per architecture field, the input as {@code [height, width, channels]}; the training
 * settings are not part of it.
 */
final class DenseNetConfigJson {

    private static final ArchitectureJson<Builder> KEYS = new ArchitectureJson<Builder>("a DenseNet architecture",
            null)
            .integer("growthRate", Builder::growthRate)
            .integer("initialFilters", Builder::initialFilters)
            .integers("blockLayers", Builder::blockLayers)
            .number("compression", Builder::compression)
            .number("reduction", Builder::reduction)
            .bool("bottleneck", Builder::bottleneck)
            .integer("bottleneckWidth", Builder::bottleneckWidth)
            .constant("stem", Stem.class, Builder::stem)
            .bool("convBias", Builder::convBias)
            .number("dropoutRate", Builder::dropoutRate)
            .number("bnEpsilon", Builder::bnEpsilon)
            .integer("numClasses", Builder::numClasses)
            .input("input", (b, hwc) -> b.inputShape(hwc[0], hwc[1], hwc[2]))
            .bool("includeTop", Builder::includeTop)
            .constant("pooling", Pooling.class, Builder::pooling);

    private DenseNetConfigJson() {
    }

    /** {@code config}'s architecture: every key but {@code reduction} (written as {@code compression}). */
    static String write(DenseNetConfig config) {
        ObjectNode o = KEYS.object();
        o.put("growthRate", config.growthRate());
        o.put("initialFilters", config.initialFilters());
        ArrayNode blocks = o.putArray("blockLayers");
        config.blockLayers().forEach(blocks::add);
        o.put("compression", config.compression());
        o.put("bottleneck", config.bottleneck());
        o.put("bottleneckWidth", config.bottleneckWidth());
        o.put("stem", config.stem().name());
        o.put("convBias", config.convBias());
        o.put("dropoutRate", config.dropoutRate());
        o.put("bnEpsilon", config.bnEpsilon());
        o.put("numClasses", config.numClasses());
        o.putArray("input").add(config.inputHeight()).add(config.inputWidth()).add(config.inputChannels());
        o.put("includeTop", config.includeTop());
        o.put("pooling", config.pooling().name());
        return ArchitectureJson.text(o);
    }

    /** A builder with the architecture {@code json} gives, the other fields {@link DenseNetConfig#builder()}'s. */
    static Builder read(String json) {
        return KEYS.read(json, DenseNetConfig.builder());
    }
}
