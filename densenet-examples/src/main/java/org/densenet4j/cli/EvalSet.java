package org.densenet4j.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.densenet4j.examples.ImageFolder;

/**
 * The labelled images {@code densenet eval} runs on, in the order it runs them: from a folder of
 * class folders, or from a flat folder and a labels file. A file that cannot be evaluated before
 * decoding (no label for it) stays in the list with the reason.
 *
 * @param entries every file considered, in evaluation order
 */
record EvalSet(List<Entry> entries) {

    /**
     * One file and its class.
     *
     * @param file    the image file
     * @param given   the class as the folder or labels file names it, or null
     * @param truth   the model's output index of that class, or -1 with a {@code problem}
     * @param problem why the file is skipped before decoding, or null
     */
    record Entry(Path file, String given, int truth, String problem) {
    }

    /** ILSVRC2012's validation file names: the number is the image's line in the devkit's ground truth. */
    private static final Pattern ILSVRC_VAL = Pattern.compile("ILSVRC2012_val_(\\d{8})\\.[A-Za-z]+");

    /** Header names of a labels file's first column (Kaggle's LOC_val_solution.csv says ImageId). */
    private static final List<String> HEADERS = List.of("imageid", "image", "file", "filename", "path", "name");

    /** The first {@code limit} entries. */
    EvalSet limit(int limit) {
        return entries.size() <= limit ? this : new EvalSet(List.copyOf(entries.subList(0, limit)));
    }

    /**
     * {@code root}/CLASS/IMAGE: every file in each class folder (hidden ones aside), the folders
     * taken in turn (the first file of each class, then the second, ...) so that a limit still
     * spans the classes.
     *
     * @throws UserError naming the folder whose name is not one of the model's classes
     */
    static EvalSet fromClassFolders(Path root, ClassIndex classes) throws IOException {
        checkFolder(root);
        List<Path> folders;
        try (var listing = Files.list(root)) {
            folders = listing.filter(p -> Files.isDirectory(p) && !hidden(p)).sorted().toList();
        }
        if (folders.isEmpty()) {
            throw new UserError(root + ": has no class folders; give a folder of class folders (DIR/<class>/<images>)"
                    + ", or a flat folder of images with --labels FILE");
        }
        List<List<Entry>> perClass = new ArrayList<>();
        for (Path folder : folders) {
            String name = folder.getFileName().toString();
            OptionalInt index = classes.find(name);
            if (index.isEmpty()) {
                throw new UserError(folder + ": the class folder '" + name + "' is not a class of the model; "
                        + "expected " + classes.expected());
            }
            perClass.add(files(folder).stream().map(f -> new Entry(f, name, index.getAsInt(), null)).toList());
        }
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; entries.size() < perClass.stream().mapToInt(List::size).sum(); i++) {
            for (List<Entry> members : perClass) {
                if (i < members.size()) {
                    entries.add(members.get(i));
                }
            }
        }
        if (entries.isEmpty()) {
            throw new UserError(root + ": its class folders hold no files");
        }
        return new EvalSet(List.copyOf(entries));
    }

    /**
     * The files of {@code dir} with the classes {@code labelsFile} gives them: "FILE LABEL" lines
     * (also comma-separated, with a header line, as Kaggle's LOC_val_solution.csv, whose label is
     * the first word after the comma), or one label per line for the images in sorted file-name
     * order (ILSVRC2012_val_NNNNNNNN files by their number). A file is found by its name, or by its
     * name without extension (LOC_val_solution.csv's ImageId).
     *
     * @throws UserError naming the labels file and line of an entry that cannot be read
     */
    static EvalSet fromLabelsFile(Path dir, Path labelsFile, ClassIndex classes) throws IOException {
        checkFolder(dir);
        if (!Files.isRegularFile(labelsFile)) {
            throw new UserError(labelsFile + ": no such labels file");
        }
        List<Path> files = new ArrayList<>(files(dir));
        files.removeIf(f -> sameFile(f, labelsFile));
        List<String> lines;
        try {
            lines = Files.readAllLines(labelsFile, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new UserError(labelsFile + ": not a text file (UTF-8) of labels");
        }
        Map<String, Line> byFile = new HashMap<>();
        List<Line> perImage = new ArrayList<>();
        boolean first = true;
        for (int n = 1; n <= lines.size(); n++) {
            String text = lines.get(n - 1).strip();
            if (text.isEmpty() || text.startsWith("#")) {
                continue;
            }
            String[] fields = text.contains(",") ? text.split(",", -1) : text.split("\\s+", 2);
            if (first && fields.length >= 2 && HEADERS.contains(fields[0].strip().toLowerCase(java.util.Locale.ROOT))) {
                first = false;
                continue; // a header line
            }
            first = false;
            String where = labelsFile + " line " + n;
            if (fields.length == 1) {
                perImage.add(new Line(where, n, fields[0].strip(), -1));
            } else {
                String label = label(classes, fields[1].strip());
                Line line = new Line(where, n, label, resolve(classes, label, where));
                String key = Path.of(fields[0].strip()).getFileName().toString();
                Line before = byFile.putIfAbsent(key, line);
                if (before != null && before.truth != line.truth) {
                    throw new UserError(where + ": " + key + " is labelled '" + label + "' here and '" + before.label
                            + "' on line " + before.number);
                }
            }
            if (!byFile.isEmpty() && !perImage.isEmpty()) {
                throw new UserError(where + ": mixes 'FILE LABEL' lines with lines of a label alone; use one form");
            }
        }
        if (byFile.isEmpty() && perImage.isEmpty()) {
            throw new UserError(labelsFile + ": holds no labels");
        }
        return byFile.isEmpty() ? byPosition(dir, labelsFile, files, perImage, classes)
                : byName(labelsFile, files, byFile);
    }

    private record Line(String where, int number, String label, int truth) {
    }

    private static EvalSet byName(Path labelsFile, List<Path> files, Map<String, Line> byFile) {
        List<Entry> entries = new ArrayList<>();
        for (Path f : files) {
            String name = f.getFileName().toString();
            Line line = byFile.get(name);
            if (line == null) {
                int dot = name.lastIndexOf('.');
                line = dot > 0 ? byFile.get(name.substring(0, dot)) : null; // LOC_val_solution.csv: no extension
            }
            entries.add(line != null ? new Entry(f, line.label, line.truth, null)
                    : new Entry(f, null, -1, "no label in " + labelsFile));
        }
        return new EvalSet(List.copyOf(entries));
    }

    private static EvalSet byPosition(Path dir, Path labelsFile, List<Path> files, List<Line> perImage,
                                      ClassIndex classes) {
        if (perImage.stream().allMatch(l -> l.label.matches("\\d+") && !classes.isName(l.label))) {
            throw new UserError(labelsFile + ": one integer per line is the form of the ILSVRC2012 devkit's "
                    + "ILSVRC2012_validation_ground_truth.txt, whose ILSVRC2012_IDs (1..1000) follow the devkit's "
                    + "meta.mat, not the model's class order; give 'FILE WNID' or 'FILE INDEX' lines instead "
                    + "(e.g. Kaggle's LOC_val_solution.csv), or one WordNet id per line");
        }
        List<Entry> entries = new ArrayList<>();
        List<Path> images = files.stream().filter(ImageFolder::isImage).toList();
        boolean numbered = !images.isEmpty() && images.stream().allMatch(f -> ILSVRC_VAL.matcher(
                f.getFileName().toString()).matches());
        if (!numbered && images.size() != perImage.size()) {
            throw new UserError(labelsFile + ": has " + perImage.size() + " labels, one per line for the images of "
                    + dir + " in sorted order, but that folder holds " + images.size() + " images");
        }
        for (int i = 0, at = 0; i < files.size(); i++) {
            Path f = files.get(i);
            if (!ImageFolder.isImage(f)) {
                entries.add(new Entry(f, null, -1, "not an image file (.jpg, .png, .bmp, .gif, .tif)"));
                continue;
            }
            int line = at++;
            if (numbered) {
                Matcher m = ILSVRC_VAL.matcher(f.getFileName().toString());
                m.matches();
                line = Integer.parseInt(m.group(1)) - 1;
            }
            if (line < 0 || line >= perImage.size()) {
                entries.add(new Entry(f, null, -1, "no label in " + labelsFile + " (it has " + perImage.size()
                        + " lines)"));
                continue;
            }
            Line l = perImage.get(line);
            entries.add(new Entry(f, l.label, resolve(classes, l.label, l.where), null));
        }
        return new EvalSet(List.copyOf(entries));
    }

    /**
     * The label in a line's second field: the whole field (a class name may hold spaces), else its
     * first word (Kaggle's PredictionString: the WordNet id, then a box, then more).
     */
    private static String label(ClassIndex classes, String field) {
        String first = field.split("\\s+", 2)[0];
        if (classes.find(field).isPresent() || classes.find(first).isPresent()) {
            return classes.find(field).isPresent() ? field : first;
        }
        return field.matches("\\S+(\\s+\\d+)+.*") ? first : field; // unknown either way: name what was meant
    }

    private static int resolve(ClassIndex classes, String label, String where) {
        OptionalInt index = classes.find(label);
        if (index.isEmpty()) {
            throw new UserError(where + ": the label '" + label + "' is not a class of the model; expected "
                    + classes.expected());
        }
        return index.getAsInt();
    }

    /** The regular files directly in {@code folder}, hidden ones aside, sorted. */
    private static List<Path> files(Path folder) throws IOException {
        try (var listing = Files.list(folder)) {
            return listing.filter(p -> Files.isRegularFile(p) && !hidden(p)).sorted().toList();
        }
    }

    private static boolean hidden(Path p) {
        return p.getFileName().toString().startsWith(".");
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    private static void checkFolder(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new UserError(dir + ": no such folder");
        }
    }
}
