package org.densenet4j.preprocess;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Class names for decoding predictions, with top-k decoding. The 1000 ImageNet names and WordNet
 * ids ship with the library.
 */
public final class ImageNetClasses {

    /** One decoded prediction. */
    public record Prediction(int index, String label, double probability) {
    }

    private static volatile List<String> imageNet;
    private static volatile List<String> wordNetIds;

    private ImageNetClasses() {
    }

    /** The 1000 ImageNet class names in class-index order (torchvision's naming). */
    public static List<String> imageNet() {
        List<String> names = imageNet;
        if (names == null) {
            names = imageNet = resource("imagenet_labels.txt");
        }
        return names;
    }

    /**
     * The WordNet ids of the 1000 ImageNet classes in class-index order ({@code n01440764} for
     * class 0, tench, to {@code n15075141}, toilet tissue): the ids sorted, the order in which
     * keras.applications, torchvision and Caffe number the classes and ILSVRC2012's training
     * folders sort. Not the order of the devkit's ILSVRC2012_ID (its {@code meta.mat}).
     * The list is tensorflow/models' {@code research/slim/datasets/imagenet_lsvrc_2015_synsets.txt}.
     */
    public static List<String> wordNetIds() {
        List<String> ids = wordNetIds;
        if (ids == null) {
            ids = wordNetIds = resource("imagenet_wnids.txt");
        }
        return ids;
    }

    private static List<String> resource(String name) {
        try (InputStream in = ImageNetClasses.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " is missing from the class path");
            }
            List<String> read = new ArrayList<>(1000);
            new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).lines().forEach(read::add);
            return List.copyOf(read);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The {@code k} most probable classes of each row of {@code probabilities} ([N, classes]), best
     * first, named by {@code labels} (or by their index when {@code labels} does not cover them).
     */
    public static List<List<Prediction>> topK(INDArray probabilities, int k, List<String> labels) {
        if (probabilities.rank() != 2) {
            throw new IllegalArgumentException("expected probabilities of shape [N, classes], got "
                    + java.util.Arrays.toString(probabilities.shape()));
        }
        int classes = (int) probabilities.size(1);
        int n = Math.min(k, classes);
        List<List<Prediction>> out = new ArrayList<>();
        for (int row = 0; row < probabilities.size(0); row++) {
            float[] p = probabilities.getRow(row).toFloatVector();
            Integer[] order = new Integer[classes];
            for (int i = 0; i < classes; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(order, (a, b) -> Float.compare(p[b], p[a]));
            List<Prediction> top = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                int c = order[i];
                String label = labels != null && c < labels.size() ? labels.get(c) : "class " + c;
                top.add(new Prediction(c, label, p[c]));
            }
            out.add(top);
        }
        return out;
    }
}
