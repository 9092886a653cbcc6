package org.densenet4j.keras;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.io.Download;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every published file's address and hash, pinned to what the publisher's own code says, so that a
 * changed or mistyped entry of {@link PretrainedWeights} fails here and not on a user's download.
 */
class PublisherCatalogTest {

    /**
     * keras.applications, read in keras-team/keras {@code keras/src/applications/densenet.py} at
     * 3422977a5e38fb2f7709aaa9a08e47f0c43d0f60 (2026-08-21): {@code BASE_WEIGHTS_PATH}, the
     * {@code DENSENET*_WEIGHT_PATH*} file names and the {@code file_hash} of each {@code get_file}.
     * The same hashes have been checked since keras-team/keras-applications d0c13ac2 (2018-07-27),
     * which re-saved the files; 32 hex digits make keras' {@code get_file} use MD5
     * ({@code keras/src/utils/file_utils.py resolve_hasher}, same commit).
     */
    private static final String KERAS = "https://storage.googleapis.com/tensorflow/keras-applications/densenet/";
    private static final Map<PretrainedWeights, String> KERAS_MD5 = Map.of(
            PretrainedWeights.KERAS_121, "9d60b8095a5708f2dcce2bca79d332c7",
            PretrainedWeights.KERAS_121_NO_TOP, "30ee3e1110167f948a6b9946edeeb738",
            PretrainedWeights.KERAS_169, "d699b8f76981ab1b30698df4c175e90b",
            PretrainedWeights.KERAS_169_NO_TOP, "b8c4d4c20dd625c148057b9ff1c1176b",
            PretrainedWeights.KERAS_201, "1ceb130c1ea1b78c3bf6114dbdfd8807",
            PretrainedWeights.KERAS_201_NO_TOP, "c13680b51ded0fb44dff2d8f86ac8bb1");
    private static final Map<PretrainedWeights, String> KERAS_FILE = Map.of(
            PretrainedWeights.KERAS_121, "densenet121_weights_tf_dim_ordering_tf_kernels.h5",
            PretrainedWeights.KERAS_121_NO_TOP, "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
            PretrainedWeights.KERAS_169, "densenet169_weights_tf_dim_ordering_tf_kernels.h5",
            PretrainedWeights.KERAS_169_NO_TOP, "densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5",
            PretrainedWeights.KERAS_201, "densenet201_weights_tf_dim_ordering_tf_kernels.h5",
            PretrainedWeights.KERAS_201_NO_TOP, "densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5");
    /** The MD5s keras checked before d0c13ac2 (keras-team/keras caf05b43, keras/applications/densenet.py). */
    private static final Set<String> KERAS_MD5_BEFORE_2018 = Set.of("0962ca643bae20f9b6771cb844dca3b0",
            "4912a53fbd2a69346e7f2c0b5ec8c6d3", "bcf9965cf5064a5f9eb6d7dc69386f43", "50662582284e4cf834ce40ab4dfa58c6",
            "7bb75edd58cb43163be7e0005fbe95ef", "1c2de60ee40562448dbac34a0737e798");

    /**
     * torchvision, read in {@code torchvision/models/densenet.py} of torchvision 0.14.1 (Debian
     * python3-torchvision 0.14.1-2): the {@code url} of {@code DenseNet121_Weights} ...
     * {@code DenseNet201_Weights.IMAGENET1K_V1}.
     */
    private static final Map<PretrainedWeights, String> TORCHVISION_URL = Map.of(
            PretrainedWeights.TORCHVISION_121, "https://download.pytorch.org/models/densenet121-a639ec97.pth",
            PretrainedWeights.TORCHVISION_161, "https://download.pytorch.org/models/densenet161-8d451a50.pth",
            PretrainedWeights.TORCHVISION_169, "https://download.pytorch.org/models/densenet169-b2777c0a.pth",
            PretrainedWeights.TORCHVISION_201, "https://download.pytorch.org/models/densenet201-c1103571.pth");
    /**
     * How torch 1.13.1's {@code torch/hub.py} finds the hash in a file name ({@code HASH_REGEX}); with
     * {@code check_hash=True}, {@code download_url_to_file} requires the SHA-256 hex digest's first
     * {@code len(prefix)} digits to be the prefix.
     */
    private static final Pattern TORCH_HUB_HASH = Pattern.compile("-([a-f0-9]*)\\.");

    @AfterEach
    void clearMirror() {
        System.clearProperty("densenet4j.weights.baseUrl");
    }

    @Test
    void everyEntryIsPinnedHere() {
        Set<PretrainedWeights> pinned = EnumSet.noneOf(PretrainedWeights.class);
        pinned.addAll(KERAS_MD5.keySet());
        pinned.addAll(TORCHVISION_URL.keySet());
        assertEquals(EnumSet.allOf(PretrainedWeights.class), pinned, "a new entry needs its publisher's values here");
    }

    @Test
    void kerasEntriesAreKerasAddressesAndMd5s() {
        for (Map.Entry<PretrainedWeights, String> e : KERAS_MD5.entrySet()) {
            PretrainedWeights w = e.getKey();
            assertEquals(PretrainedWeights.Source.KERAS, w.source(), w.name());
            assertEquals(URI.create(KERAS + KERAS_FILE.get(w)), w.publisherUrl(), w.name());
            assertEquals(KERAS_FILE.get(w), w.fileName(), w.name());
            assertEquals(new Download.Expected("MD5", e.getValue()), w.expected(), w.name());
            assertFalse(KERAS_MD5_BEFORE_2018.contains(w.expected().hex()),
                    w.name() + ": a hash of the files keras replaced in 2018, which today's address does not serve");
        }
    }

    @Test
    void torchvisionEntriesAreTorchvisionAddressesAndTheirHashPrefix() {
        for (Map.Entry<PretrainedWeights, String> e : TORCHVISION_URL.entrySet()) {
            PretrainedWeights w = e.getKey();
            URI url = URI.create(e.getValue());
            assertEquals(PretrainedWeights.Source.TORCHVISION, w.source(), w.name());
            assertEquals(url, w.publisherUrl(), w.name());
            String name = url.getPath().substring(url.getPath().lastIndexOf('/') + 1);
            assertEquals(name, w.fileName(), w.name());
            Matcher m = TORCH_HUB_HASH.matcher(name);
            assertTrue(m.find(), name);
            assertEquals(new Download.Expected("SHA-256", m.group(1)), w.expected(),
                    w.name() + ": the SHA-256 prefix torch.hub takes from the file name");
        }
    }

    @Test
    void withoutAMirrorTheAddressIsThePublishers() {
        assertNull(System.getenv("DENSENET_WEIGHTS_URL"), "this test reads the publishers' addresses; unset "
                + "DENSENET_WEIGHTS_URL to run it");
        for (PretrainedWeights w : PretrainedWeights.values()) {
            assertEquals(w.publisherUrl(), w.url(), w.name());
        }
        System.setProperty("densenet4j.weights.baseUrl", "http://mirror.example/dn");
        assertEquals(URI.create("http://mirror.example/dn/densenet121-a639ec97.pth"),
                PretrainedWeights.TORCHVISION_121.url());
    }

    @Test
    void everyPresetDefaultsToTorchvisionAndEachSourceHasItsPresets() {
        for (DenseNetPreset p : new DenseNetPreset[] {DenseNetPreset.DENSENET121, DenseNetPreset.DENSENET161,
                DenseNetPreset.DENSENET169, DenseNetPreset.DENSENET201}) {
            assertEquals(PretrainedWeights.Source.TORCHVISION, PretrainedWeights.defaultSource(p), p.id());
            assertEquals(PretrainedWeights.Source.TORCHVISION,
                    PretrainedWeights.of(p, null, true).orElseThrow().source());
        }
        assertEquals(Set.of("densenet121", "densenet169", "densenet201"), Arrays.stream(PretrainedWeights.values())
                .filter(w -> w.source() == PretrainedWeights.Source.KERAS).map(w -> w.preset().id())
                .collect(Collectors.toSet()));
        assertTrue(PretrainedWeights.of(DenseNetPreset.DENSENET161, PretrainedWeights.Source.KERAS, true).isEmpty());
        assertTrue(PretrainedWeights.of(DenseNetPreset.DENSENET121, PretrainedWeights.Source.TORCHVISION, false)
                .isEmpty(), "torchvision publishes no headless files");
        assertEquals(PretrainedWeights.KERAS_169_NO_TOP, PretrainedWeights.of(DenseNetPreset.DENSENET169, null, false)
                .orElseThrow(), "without top, the default is keras.applications' _notop file");
        assertTrue(PretrainedWeights.of(DenseNetPreset.DENSENET161, null, false).isEmpty());
    }

    /**
     * The figures, as the publishers state them: torchvision 0.14.1 {@code densenet.py}, each
     * {@code IMAGENET1K_V1}'s {@code _metrics["ImageNet-1K"]["acc@1"]}, for
     * {@code ImageClassification(crop_size=224)} ({@code transforms/_presets.py}: resize 256, bilinear);
     * keras-team/keras-applications README.md at 976050c4 (2019-11-13, Top-1 "single center crop",
     * Input 224), the figures first given as errors in e8a74741 (2018-08-25).
     */
    @Test
    void publisherAccuracyIsThePublishersFigureAndProtocol() {
        Map<PretrainedWeights, String> top1 = Map.of(PretrainedWeights.TORCHVISION_121, "74.434%",
                PretrainedWeights.TORCHVISION_161, "77.138%", PretrainedWeights.TORCHVISION_169, "75.600%",
                PretrainedWeights.TORCHVISION_201, "76.896%", PretrainedWeights.KERAS_121, "74.972%",
                PretrainedWeights.KERAS_121_NO_TOP, "74.972%", PretrainedWeights.KERAS_169, "76.176%",
                PretrainedWeights.KERAS_169_NO_TOP, "76.176%", PretrainedWeights.KERAS_201, "77.320%",
                PretrainedWeights.KERAS_201_NO_TOP, "77.320%");
        assertEquals(EnumSet.allOf(PretrainedWeights.class), EnumSet.copyOf(top1.keySet()));
        top1.forEach((w, figure) -> assertTrue(w.publisherAccuracy().startsWith(figure + " top-1"),
                w.name() + ": " + w.publisherAccuracy()));
        String tv169 = PretrainedWeights.TORCHVISION_169.publisherAccuracy();
        assertTrue(tv169.contains("resized to 256 (bilinear), centre crop 224x224 (torchvision "
                + "DenseNet169_Weights.IMAGENET1K_V1)"), tv169);
        assertTrue(PretrainedWeights.KERAS_201.publisherAccuracy().contains("resize not stated"));
        assertTrue(PretrainedWeights.KERAS_201.publisherAccuracy().contains("keras.io shows 0.773"));
    }

    /**
     * One default per preset, as torchvision's {@code DEFAULT = IMAGENET1K_V1} (torchvision 0.14.1
     * {@code densenet.py}), and the catalog covers exactly the presets the zoo says have published
     * ImageNet weights ({@link DenseNetPreset#imageNetWeights()}).
     */
    @Test
    void everyPresetWithPublishedWeightsHasExactlyOneDefault() {
        for (DenseNetPreset p : DenseNetPreset.values()) {
            Set<PretrainedWeights> defaults = Arrays.stream(PretrainedWeights.values())
                    .filter(w -> w.preset() == p && w.isDefault()).collect(Collectors.toSet());
            boolean inCatalog = Arrays.stream(PretrainedWeights.values()).anyMatch(w -> w.preset() == p);
            assertEquals(p.imageNetWeights().isPresent(), inCatalog, p.id() + ": the zoo and the catalog agree");
            assertEquals(inCatalog ? 1 : 0, defaults.size(), p.id() + ": " + defaults);
            assertEquals(defaults.stream().findFirst(), PretrainedWeights.defaultFor(p), p.id());
            defaults.forEach(d -> {
                assertTrue(d.includeTop(), d.name() + ": a default predicts classes");
                assertEquals(PretrainedWeights.Source.TORCHVISION, d.source(), d.name());
            });
        }
        assertTrue(PretrainedWeights.defaultFor(DenseNetPreset.DENSENET264).isEmpty());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> PretrainedWeights.defaultSource(DenseNetPreset.DENSENET264));
        assertTrue(e.getMessage().contains("no published ImageNet weights of densenet264"), e.getMessage());
    }

    /**
     * Every entry says what it is, as data: transform (pinned in {@link PublishedTransformsTest}),
     * classes, licence and accuracy. The class names are torchvision 0.14.1's
     * {@code torchvision/models/_meta.py _IMAGENET_CATEGORIES} (1000; "tench" first, "toilet tissue"
     * last) in sorted WordNet-id order ({@code n01440764} first).
     */
    @Test
    void everyEntryCarriesItsTransformClassesLicenceAndAccuracy() {
        for (PretrainedWeights w : PretrainedWeights.values()) {
            assertEquals(w.source().layout().transform(224, 224), w.transform(), w.name());
            if (w.includeTop()) {
                assertEquals(PretrainedWeights.Classes.IMAGENET_1K, w.classes(), w.name());
                assertEquals(1000, w.labels().size(), w.name());
                assertEquals("tench", w.labels().get(0), w.name());
                assertEquals("toilet tissue", w.labels().get(999), w.name());
                assertEquals("n01440764", w.classes().wordNetIds().get(0), w.name());
            } else {
                assertEquals(PretrainedWeights.Classes.NONE, w.classes(), w.name());
                assertTrue(w.labels().isEmpty(), w.name());
            }
            PretrainedWeights.Licence l = w.licence();
            for (String part : new String[] {l.code(), l.weights(), l.statedIn()}) {
                assertFalse(part == null || part.isBlank(), w.name() + ": " + l);
            }
            PretrainedWeights.Accuracy a = w.accuracy();
            assertTrue(a.top1() > 70 && a.top1() < 80, w.name() + ": " + a);
            assertFalse(a.dataset().isBlank() || a.protocol().isBlank() || a.statedIn().isBlank(), w.name());
            assertEquals(a.describe(), w.publisherAccuracy());
        }
    }

    /**
     * The licences as the publishers state them. torchvision: pytorch/vision {@code LICENSE} (BSD
     * 3-Clause; also Debian python3-torchvision 0.14.1's copyright file) and {@code README.md}'s
     * "Pre-trained Model License" section (read at 0a12c0708810ae6a9a64b584fb8e412412c22b9d), which
     * names no licence for the DenseNet weights. keras.applications: keras-team/keras
     * {@code docs/templates/applications.md}, DenseNet section, "These weights are released under the
     * BSD 3-clause License" from caf05b43d1eed9f77c8b220be57f7bfd878abb76 (2018-01-05) until the file's
     * removal in 33c4e162e36452f6ad8377c05a25a20d86e754a7 (2020-10-20); keras-team/keras-applications
     * README ("distributed under the MIT license", bc89834).
     */
    @Test
    void licencesAreThePublishersWords() {
        PretrainedWeights.Licence tv = PretrainedWeights.TORCHVISION_121.licence();
        assertEquals("BSD-3-Clause", tv.code());
        assertTrue(tv.weights().startsWith("not stated"), tv.weights());
        assertTrue(tv.weights().contains("may have their own licenses or terms and conditions derived from the "
                + "dataset used for training"), tv.weights());
        PretrainedWeights.Licence keras = PretrainedWeights.KERAS_201_NO_TOP.licence();
        assertTrue(keras.weights().startsWith("BSD-3-Clause"), keras.weights());
        assertTrue(keras.code().startsWith("MIT"), keras.code());
        assertTrue(keras.statedIn().contains("keras.io states none today"), keras.statedIn());
        for (PretrainedWeights w : PretrainedWeights.values()) {
            assertEquals(w.source() == PretrainedWeights.Source.TORCHVISION ? tv : keras, w.licence(), w.name());
        }
    }
}
