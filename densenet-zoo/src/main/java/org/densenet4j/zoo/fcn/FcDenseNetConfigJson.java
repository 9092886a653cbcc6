package org.densenet4j.zoo.fcn;

import org.densenet4j.zoo.ArchitectureJson;
import org.densenet4j.zoo.fcn.FcDenseNetConfig.Builder;
import org.nd4j.shade.jackson.databind.node.ArrayNode;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

/**
 * The JSON form of an FC-DenseNet architecture ({@link FcDenseNetConfig#toJson},
 * {@link FcDenseNetConfig#fromJson}): {@code "family": "fc-densenet"}, one key per architecture
 * field, the input as {@code [height, width, channels]}; the training settings are not part of it.
 */
final class FcDenseNetConfigJson {

    /** The {@value ArchitectureJson#FAMILY} key's value. */
    static final String FAMILY = "fc-densenet";

    private static final ArchitectureJson<Builder> KEYS = new ArchitectureJson<Builder>(
            "an FC-DenseNet architecture", FAMILY)
            .integer("initialFilters", Builder::initialFilters)
            .integer("growthRate", Builder::growthRate)
            .integers("blockLayers", Builder::blockLayers)
            .number("dropoutRate", Builder::dropoutRate)
            .number("bnEpsilon", Builder::bnEpsilon)
            .integer("numClasses", Builder::numClasses)
            .input("input", (b, hwc) -> b.inputShape(hwc[0], hwc[1], hwc[2]));

    private FcDenseNetConfigJson() {
    }

    static String write(FcDenseNetConfig c) {
        ObjectNode o = KEYS.object();
        o.put("initialFilters", c.initialFilters());
        o.put("growthRate", c.growthRate());
        ArrayNode layers = o.putArray("blockLayers");
        c.blockLayers().forEach(layers::add);
        o.put("dropoutRate", c.dropoutRate());
        o.put("bnEpsilon", c.bnEpsilon());
        o.put("numClasses", c.numClasses());
        o.putArray("input").add(c.inputHeight()).add(c.inputWidth()).add(c.inputChannels());
        return ArchitectureJson.text(o);
    }

    static Builder read(String json, Builder defaults) {
        return KEYS.read(json, defaults);
    }
}
