package org.densenet4j.zoo.resnet;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The named ResNets of the zoo, each data (a {@link ResNetConfig}) built by {@link ResNetBuilder}. */
public enum ResNetPreset {
    /**
     * ResNet-18 of "Dive into Deep Learning" (the ResNet section the seeds follow) for Fashion-MNIST
     * resized to 96x96: stages of 2 residual blocks with 64, 128, 256 and 512 channels, 10 classes,
     * SGD at the book's learning rate 0.05.
     */
    RESNET18_D2L("resnet18-d2l", "ResNet-18 of Dive into Deep Learning (Fashion-MNIST, 96x96x1)",
            ResNetConfig.builder().build());

    private final String id;
    private final String description;
    private final ResNetConfig config;

    ResNetPreset(String id, String description, ResNetConfig config) {
        this.id = id;
        this.description = description;
        this.config = config;
    }

    /** The id used by the command line and the docs, e.g. {@code resnet18-d2l}. */
    public String id() {
        return id;
    }

    /** A one-line human description. */
    public String description() {
        return description;
    }

    /** The preset's configuration; change it with {@link ResNetConfig#toBuilder()}. */
    public ResNetConfig config() {
        return config;
    }

    /**
     * The preset with the given id (case-insensitive).
     *
     * @throws IllegalArgumentException naming the known ids when there is none
     */
    public static ResNetPreset fromId(String id) {
        String wanted = id == null ? "" : id.trim().toLowerCase(Locale.ROOT);
        for (ResNetPreset p : values()) {
            if (p.id.equals(wanted)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown ResNet preset '" + id + "'; known presets: "
                + Arrays.stream(values()).map(ResNetPreset::id).collect(Collectors.joining(", ")));
    }
}
