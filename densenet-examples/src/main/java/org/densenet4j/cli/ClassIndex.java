package org.densenet4j.cli;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.examples.ImageModel;
import org.densenet4j.preprocess.ImageNetClasses;

/**
 * How the class names of an evaluation set (class folder names, labels-file entries) map to a
 * model's outputs: the model's stored class names (a model trained or fine-tuned here), the
 * WordNet ids of an ImageNet model (n01440764 is output 0), or an output index 0..classes-1.
 */
final class ClassIndex {

    private final int classes;
    private final List<String> labels;
    private final Map<String, Integer> byName = new HashMap<>();
    private final String expected;

    private ClassIndex(int classes, List<String> labels, Map<String, Integer> names, String expected) {
        this.classes = classes;
        this.labels = labels;
        this.byName.putAll(names);
        this.expected = expected;
    }

    /** The classes of {@code model}, whose graph has {@code classes} outputs. */
    static ClassIndex of(ImageModel model, int classes) {
        List<String> stored = model.storedLabels();
        boolean imageNet = classes == 1000 && (stored == null || stored.equals(ImageNetClasses.imageNet()));
        String indices = "a class index 0.." + (classes - 1);
        Map<String, Integer> names = new HashMap<>();
        if (imageNet) {
            // ImageNet's names repeat (two "crane"s, two "maillot"s): only its WordNet ids name a class.
            List<String> ids = ImageNetClasses.wordNetIds();
            for (int i = 0; i < ids.size(); i++) {
                names.put(ids.get(i), i);
            }
            return new ClassIndex(classes, ImageNetClasses.imageNet(), names, "a WordNet id of the model's ImageNet "
                    + "classes (" + ids.get(0) + " .. " + ids.get(ids.size() - 1) + ") or " + indices);
        }
        if (stored != null && stored.size() == classes) {
            for (int i = 0; i < classes; i++) {
                names.putIfAbsent(stored.get(i), i);
            }
            return new ClassIndex(classes, stored, names, "one of the model's class names (" + sample(stored)
                    + ") or " + indices);
        }
        return new ClassIndex(classes, null, names, indices + " (the model stores no class names)");
    }

    /** The number of classes of the graph's classifier, or a one-line error for a graph without one. */
    static int outputClasses(ComputationGraph net, String model) {
        String out = net.getConfiguration().getNetworkOutputs().get(0);
        var layer = net.getLayer(out);
        if (layer != null && layer.conf().getLayer() instanceof FeedForwardLayer ff && ff.getNOut() > 0) {
            return (int) ff.getNOut();
        }
        throw new UserError(model + ": its output '" + out + "' is not a classifier (a headless model?); eval needs "
                + "class probabilities");
    }

    /** The model's output index for {@code name}, if it names one. */
    OptionalInt find(String name) {
        Integer i = byName.get(name);
        if (i != null) {
            return OptionalInt.of(i);
        }
        if (name.matches("\\d{1,9}")) {
            int index = Integer.parseInt(name);
            if (index < classes) {
                return OptionalInt.of(index);
            }
        }
        return OptionalInt.empty();
    }

    /** Whether {@code name} is one of the model's own class names (not an index). */
    boolean isName(String name) {
        return byName.containsKey(name);
    }

    /** What a class name must be, for messages. */
    String expected() {
        return expected;
    }

    /** The display name of class {@code index}. */
    String label(int index) {
        return labels != null ? labels.get(index) : "class " + index;
    }

    /** The display names of the classes, or null when the model has none. */
    List<String> labels() {
        return labels;
    }

    /** The number of classes. */
    int size() {
        return classes;
    }

    private static String sample(List<String> names) {
        int shown = Math.min(names.size(), 8);
        String head = String.join(", ", names.subList(0, shown));
        return shown < names.size() ? head + ", ... " + names.size() + " in all" : head;
    }
}
