package org.densenet4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.densenet4j.preprocess.ImageNetClasses;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.SerializationFeature;

/**
 * What {@code densenet eval} found: top-1 and top-k hits over the images evaluated, each image's
 * predictions, the files skipped and why; written as JSON or CSV.
 */
final class EvalReport {

    /** One image evaluated, or skipped (then {@code top} is empty and {@code error} says why). */
    record Result(EvalSet.Entry entry, List<ImageNetClasses.Prediction> top, String error) {

        boolean top1() {
            return !top.isEmpty() && top.get(0).index() == entry.truth();
        }

        boolean topK() {
            return top.stream().anyMatch(p -> p.index() == entry.truth());
        }
    }

    private final ClassIndex classes;
    private final int k;
    private final List<Result> results = new ArrayList<>();
    private int evaluated;
    private int top1;
    private int topK;

    EvalReport(ClassIndex classes, int k) {
        this.classes = classes;
        this.k = k;
    }

    /** Records an evaluated image with its best {@code k} predictions, best first. */
    void add(EvalSet.Entry entry, List<ImageNetClasses.Prediction> top) {
        Result r = new Result(entry, List.copyOf(top), null);
        results.add(r);
        evaluated++;
        top1 += r.top1() ? 1 : 0;
        topK += r.topK() ? 1 : 0;
    }

    /** Records a file that was not evaluated. */
    void skip(EvalSet.Entry entry, String error) {
        results.add(new Result(entry, List.of(), error));
    }

    int evaluated() {
        return evaluated;
    }

    int skipped() {
        return results.size() - evaluated;
    }

    int top1Hits() {
        return top1;
    }

    int topKHits() {
        return topK;
    }

    /** The fraction of evaluated images whose class is the best prediction (NaN when none was evaluated). */
    double top1() {
        return evaluated == 0 ? Double.NaN : (double) top1 / evaluated;
    }

    /** The fraction of evaluated images whose class is among the best {@code k} (NaN when none was evaluated). */
    double topK() {
        return evaluated == 0 ? Double.NaN : (double) topK / evaluated;
    }

    /** Writes the report to {@code out} (.json or .csv) in one piece: a temporary file renamed into place. */
    void write(Path out, Map<String, Object> summary) throws IOException {
        String text = out.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json") ? json(summary) : csv();
        org.densenet4j.zoo.io.AtomicFile.writeString(out, text);
    }

    private String json(Map<String, Object> summary) throws IOException {
        Map<String, Object> root = new LinkedHashMap<>(summary);
        root.put("evaluated", evaluated);
        root.put("skipped", skipped());
        root.put("top1", evaluated == 0 ? null : top1());
        root.put("top" + EvalCommand.TOP, evaluated == 0 ? null : topK());
        List<Map<String, Object>> images = new ArrayList<>();
        for (Result r : results) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("file", r.entry().file().toString());
            m.put("given", r.entry().given());
            if (r.entry().truth() >= 0) {
                m.put("truth", r.entry().truth());
                m.put("truthLabel", classes.label(r.entry().truth()));
            }
            if (r.error() != null) {
                m.put("error", r.error());
            } else {
                List<Map<String, Object>> top = new ArrayList<>();
                for (ImageNetClasses.Prediction p : r.top()) {
                    Map<String, Object> t = new LinkedHashMap<>();
                    t.put("index", p.index());
                    t.put("label", classes.label(p.index()));
                    t.put("probability", p.probability());
                    top.add(t);
                }
                m.put("top", top);
                m.put("top1Correct", r.top1());
                m.put("top" + EvalCommand.TOP + "Correct", r.topK());
            }
            images.add(m);
        }
        root.put("images", images);
        return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root) + "\n";
    }

    private String csv() {
        StringBuilder sb = new StringBuilder("file,given,truth,truth_label");
        for (int i = 1; i <= k; i++) {
            sb.append(",top").append(i).append(",top").append(i).append("_label,top").append(i).append("_probability");
        }
        sb.append(",top1_correct,top").append(EvalCommand.TOP).append("_correct,error\n");
        for (Result r : results) {
            EvalSet.Entry e = r.entry();
            sb.append(quote(e.file().toString())).append(',').append(quote(e.given()));
            sb.append(',').append(e.truth() >= 0 ? e.truth() : "").append(',')
                    .append(e.truth() >= 0 ? quote(classes.label(e.truth())) : "");
            for (int i = 0; i < k; i++) {
                if (i < r.top().size()) {
                    ImageNetClasses.Prediction p = r.top().get(i);
                    sb.append(',').append(p.index()).append(',').append(quote(classes.label(p.index())))
                            .append(',').append(String.format(Locale.ROOT, "%.6f", p.probability()));
                } else {
                    sb.append(",,,");
                }
            }
            boolean done = r.error() == null;
            sb.append(',').append(done ? r.top1() : "").append(',').append(done ? r.topK() : "")
                    .append(',').append(quote(r.error())).append('\n');
        }
        return sb.toString();
    }

    /** A CSV field: quoted when it holds a comma, quote or line break; empty for null. */
    private static String quote(String s) {
        if (s == null) {
            return "";
        }
        return s.matches("(?s).*[\",\\r\\n].*") ? '"' + s.replace("\"", "\"\"") + '"' : s;
    }
}
