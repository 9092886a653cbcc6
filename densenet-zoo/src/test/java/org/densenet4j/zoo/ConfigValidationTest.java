package org.densenet4j.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.densenet4j.zoo.DenseNetConfig.Pooling;
import org.densenet4j.zoo.DenseNetConfig.Stem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** A bad configuration fails at build time with a message that names the parameter. */
class ConfigValidationTest {

    static Stream<Arguments> badConfigurations() {
        return Stream.of(
                bad("zero growth", c -> c.growthRate(0), "growthRate must be > 0, was 0"),
                bad("negative initial filters", c -> c.initialFilters(-1), "initialFilters must be > 0"),
                bad("negative compression", c -> c.compression(-0.5), "compression must be in (0, 1]"),
                bad("compression above one", c -> c.compression(1.5), "compression must be in (0, 1]"),
                bad("reduction of one", c -> c.reduction(1.0), "compression must be in (0, 1]"),
                bad("compression that keeps nothing", c -> c.compression(0.001),
                        "compression keeps no feature map of the 256 entering transition block 2"),
                bad("no blocks", c -> c.blockLayers(), "blockLayers must name at least one dense block"),
                bad("an empty block", c -> c.blockLayers(6, 0, 24), "blockLayers entry 1 must be > 0"),
                bad("dropout of one", c -> c.dropoutRate(1.0), "dropoutRate must be in [0, 1)"),
                bad("negative weight decay", c -> c.weightDecay(-1e-4), "weightDecay must be a finite value >= 0"),
                bad("zero epsilon", c -> c.bnEpsilon(0), "bnEpsilon must be a finite value > 0"),
                bad("zero classes", c -> c.numClasses(0), "numClasses must be > 0 when the top is included"),
                bad("zero channels", c -> c.inputShape(224, 224, 0), "inputChannels must be > 0"),
                bad("zero bottleneck width", c -> c.bottleneckWidth(0), "bottleneckWidth must be > 0"),
                bad("max pooling under fc6", c -> c.pooling(Pooling.MAX), "pooling must be AVG when the top"),
                bad("8x8 input for 121", c -> c.inputShape(8, 8, 3),
                        "inputHeight 8 is too small: it shrinks to nothing at pool3; "
                                + "this architecture needs at least 29 pixels"),
                bad("28 pixels wide for 121", c -> c.inputShape(224, 28, 3),
                        "inputWidth 28 is too small: it shrinks to nothing at pool4; "
                                + "this architecture needs at least 29 pixels"),
                bad("3x3 for a CIFAR net", c -> c.stem(Stem.CIFAR).blockLayers(2, 2, 2).inputShape(3, 3, 3),
                        "inputHeight 3 is too small: it shrinks to nothing at pool3; "
                                + "this architecture needs at least 4 pixels"));
    }

    private static Arguments bad(String what, UnaryOperator<DenseNetConfig.Builder> change, String message) {
        return Arguments.of(what, change, message);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badConfigurations")
    void failsFastNamingTheParameter(String what, UnaryOperator<DenseNetConfig.Builder> change, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> change.apply(DenseNetPreset.DENSENET121.config().toBuilder()).build());
        assertTrue(e.getMessage().startsWith(message), () -> "message was: " + e.getMessage());
    }

    @Test
    void zeroClassesAreFineForAHeadlessModel() {
        DenseNetConfig c = DenseNetConfig.builder().numClasses(0).headless(Pooling.MAX).build();
        assertEquals(1024, c.outputChannels());
    }

    @Test
    void minimumInputSizeMatchesTheArchitecture() {
        assertEquals(29, DenseNetConfig.minimumInputSize(Stem.IMAGENET, 4));
        assertEquals(13, DenseNetConfig.minimumInputSize(Stem.IMAGENET, 3));
        assertEquals(4, DenseNetConfig.minimumInputSize(Stem.CIFAR, 3));
        assertEquals(1, DenseNetConfig.minimumInputSize(Stem.CIFAR, 1));
    }

    @Test
    void unknownPresetNamesTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DenseNetPreset.fromId("densenet122"));
        assertTrue(e.getMessage().startsWith("unknown DenseNet preset 'densenet122'; known presets: densenet121, "),
                e.getMessage());
        assertEquals(DenseNetPreset.DENSENET161, DenseNetPreset.fromId(" DenseNet161 "));
    }

    @Test
    void malformedZooInputShapeIsRejected() {
        DenseNet121 model = new DenseNet121();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> model.setInputShape(new int[][] {{224, 224}}));
        assertTrue(e.getMessage().startsWith("inputShape must be {{channels, height, width}}"), e.getMessage());
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> model.setInputShape(new int[][] {{3, 16, 224}}));
        assertTrue(small.getMessage().startsWith("inputHeight 16 is too small"), small.getMessage());
    }
}
