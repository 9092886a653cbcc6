package org.densenet4j.keras;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Collectors;

import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;

/**
 * What a DenseNet weight file holds, read from its layer names and shapes: enough to build the
 * graph it fits.
 *
 * @param file           the weight file
 * @param layout         its layout
 * @param stem           ImageNet (7x7 conv1 with BN and max pool) or CIFAR (3x3 conv1 alone)
 * @param growthRate     k, the filters of each 3x3 convolution
 * @param initialFilters filters of {@code conv1}
 * @param blockLayers    conv blocks per dense block
 * @param bottleneck     whether conv blocks have the 1x1 bottleneck
 * @param compression    fraction of feature maps the first transition keeps (1 with a single block)
 * @param inputChannels  channels {@code conv1} takes
 * @param classes        classes of {@code fc6}, empty when the file has no classifier
 */
public record WeightFileSummary(Path file, WeightLayout layout, DenseNetConfig.Stem stem, int growthRate,
        int initialFilters,
                                List<Integer> blockLayers, boolean bottleneck, double compression,
                                int inputChannels, OptionalInt classes) {

    /** The ImageNet or CIFAR preset with this architecture, if there is one. */
    public Optional<DenseNetPreset> preset() {
        for (DenseNetPreset p : DenseNetPreset.values()) {
            DenseNetConfig c = p.config();
            if (c.growthRate() == growthRate && c.initialFilters() == initialFilters
                    && c.blockLayers().equals(blockLayers) && c.bottleneck() == bottleneck
                    && Math.abs(c.compression() - compression) < 1e-9
                    && c.stem() == stem) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** A one-line description, e.g. {@code DenseNet k=32, 64 initial filters, blocks 6/12/24/16 (densenet121)}. */
    public String describe() {
        return "DenseNet k=" + growthRate + ", " + initialFilters + " initial filters, blocks "
                + blockLayers.stream().map(String::valueOf).collect(Collectors.joining("/"))
                + ", compression " + compression
                + preset().map(p -> " (" + p.id() + ")").orElse("");
    }

    /**
     * The configuration of the graph this file fits: its architecture, its classes (or a headless
     * average-pooled graph when it has no classifier) and the layout's BN epsilon.
     */
    public DenseNetConfig.Builder toConfig() {
        DenseNetConfig.Builder b = DenseNetConfig.builder()
                .stem(stem)
                .growthRate(growthRate)
                .initialFilters(initialFilters)
                .blockLayers(blockLayers.stream().mapToInt(Integer::intValue).toArray())
                .bottleneck(bottleneck)
                .compression(compression)
                .bnEpsilon(layout.bnEpsilon())
                .inputShape(224, 224, inputChannels);
        if (classes.isPresent()) {
            b.numClasses(classes.getAsInt());
        } else {
            b.headless(DenseNetConfig.Pooling.AVG);
        }
        return b;
    }
}
