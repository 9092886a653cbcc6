package org.densenet4j.zoo.fcn;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The FC-DenseNets of "The One Hundred Layers Tiramisu" (Jégou et al. 2017, section 4), as the
 * authors trained them on CamVid: 48 first filters, 5 transitions down and up, dropout 0.2, 11
 * classes, 224x224 RGB crops. Each is data (an {@link FcDenseNetConfig}) built by
 * {@link FcDenseNetBuilder}; the depth counts the convolutions (dense-block layers, {@code conv1},
 * 5 transitions down, 5 transitions up and the classifier).
 */
public enum FcDenseNetPreset {
    /** FC-DenseNet56: 4 layers in each of the 11 dense blocks, k=12. */
    FC_DENSENET56("fc-densenet56", "FC-DenseNet56 (Tiramisu, k=12, 4 layers per block)",
            FcDenseNetConfig.builder().growthRate(12).layersPerBlock(4, 5).build()),
    /** FC-DenseNet67: 5 layers in each of the 11 dense blocks, k=16. */
    FC_DENSENET67("fc-densenet67", "FC-DenseNet67 (Tiramisu, k=16, 5 layers per block)",
            FcDenseNetConfig.builder().growthRate(16).layersPerBlock(5, 5).build()),
    /** FC-DenseNet103: blocks of 4, 5, 7, 10, 12 layers, a bottleneck of 15, and back; k=16. */
    FC_DENSENET103("fc-densenet103", "FC-DenseNet103 (Tiramisu, k=16, blocks 4-5-7-10-12-15-12-10-7-5-4)",
            FcDenseNetConfig.builder().growthRate(16).blockLayers(4, 5, 7, 10, 12, 15, 12, 10, 7, 5, 4).build());

    private final String id;
    private final String description;
    private final FcDenseNetConfig config;

    FcDenseNetPreset(String id, String description, FcDenseNetConfig config) {
        this.id = id;
        this.description = description;
        this.config = config;
    }

    /** The id used by the command line and the docs, e.g. {@code fc-densenet103}. */
    public String id() {
        return id;
    }

    /** A one-line human description. */
    public String description() {
        return description;
    }

    /** The preset's configuration; change it with {@link FcDenseNetConfig#toBuilder()}. */
    public FcDenseNetConfig config() {
        return config;
    }

    /**
     * The preset with the given id (case-insensitive).
     *
     * @throws IllegalArgumentException naming the known ids when there is none
     */
    public static FcDenseNetPreset fromId(String id) {
        String wanted = id == null ? "" : id.trim().toLowerCase(Locale.ROOT);
        for (FcDenseNetPreset p : values()) {
            if (p.id.equals(wanted)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown FC-DenseNet preset '" + id + "'; known presets: "
                + Arrays.stream(values()).map(FcDenseNetPreset::id).collect(Collectors.joining(", ")));
    }
}
