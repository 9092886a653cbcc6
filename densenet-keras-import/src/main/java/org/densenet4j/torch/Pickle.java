package org.densenet4j.torch;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A restricted reader of Python pickles: the opcodes {@code torch.save} writes for a state_dict
 * (protocols 2 to 4) and nothing that runs code. Values become Java objects: {@code str} a String,
 * {@code int} a Long (or BigInteger), {@code float} a Double, {@code bool} a Boolean, {@code None}
 * null, a list an ArrayList, a tuple an unmodifiable List, a dict or OrderedDict a LinkedHashMap.
 *
 * <p>A global ({@code GLOBAL}/{@code STACK_GLOBAL}) is only a name until a {@link Resolver} turns it
 * into a value or a call: the resolver decides what exists, and everything it does not know is
 * refused with a {@link PickleException} naming the global. The same holds for persistent ids
 * (torch's storages). {@code BUILD} (setting an object's state) is accepted only on a dict, whose
 * state it ignores (PyTorch stores a state_dict's {@code _metadata} there). The reader never
 * creates a Java object by name and never calls anything but the resolver.
 */
public final class Pickle {

    /** What a pickled global may be: the only way from a name in a file to a value. */
    public interface Resolver {
        /** The value of {@code global} called with {@code args} ({@code REDUCE}). */
        Object call(Global global, List<Object> args) throws PickleException;

        /** The object a persistent id stands for ({@code BINPERSID}). */
        Object persistentLoad(Object pid) throws PickleException;

        /** Whether {@code global} may be named at all (checked when the name is read). */
        boolean allowed(Global global);
    }

    /** A global's name, e.g. {@code collections.OrderedDict}. */
    public record Global(String module, String name) {
        @Override
        public String toString() {
            return module + "." + name;
        }
    }

    /** A malformed pickle, or one that asks for what a weight file must not. */
    public static final class PickleException extends Exception {
        private static final long serialVersionUID = 1L;

        /** A problem described by {@code message}. */
        public PickleException(String message) {
            super(message);
        }
    }

    private static final int MAX_DEPTH = 1 << 20;

    private final ByteBuffer in;
    private final Resolver resolver;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private Pickle(ByteBuffer in, Resolver resolver) {
        this.in = in.order(ByteOrder.LITTLE_ENDIAN);
        this.resolver = resolver;
    }

    /**
     * Reads one pickle from {@code in}, from its position to its {@code STOP}; the buffer's position
     * is then just past it (files may hold several pickles one after another).
     */
    public static Object load(ByteBuffer in, Resolver resolver) throws PickleException {
        return new Pickle(in, resolver).run();
    }

    private Object run() throws PickleException {
        try {
            while (true) {
                int at = in.position();
                int op = in.get() & 0xff;
                switch (op) {
                    case 0x80 -> { // PROTO
                        int protocol = in.get() & 0xff;
                        if (protocol > 5) {
                            throw new PickleException("pickle protocol " + protocol + " is not one Python writes");
                        }
                    }
                    case 0x95 -> in.getLong(); // FRAME: a length hint
                    case '.' -> { // STOP
                        if (stack.size() != 1 || !marks.isEmpty()) {
                            throw new PickleException("the pickle ends with " + stack.size() + " values on its stack");
                        }
                        return stack.get(0);
                    }
                    case '(' -> marks.add(stack.size());
                    case '}' -> push(new LinkedHashMap<>());
                    case ']' -> push(new ArrayList<>());
                    case ')' -> push(List.of());
                    case 'N' -> push(null);
                    case 0x88 -> push(Boolean.TRUE);
                    case 0x89 -> push(Boolean.FALSE);
                    case 'J' -> push((long) in.getInt());
                    case 'K' -> push((long) (in.get() & 0xff));
                    case 'M' -> push((long) (in.getShort() & 0xffff));
                    case 0x8a -> push(long1(in.get() & 0xff));
                    case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong()))); // big-endian
                    case 'X' -> push(string(in.getInt(), StandardCharsets.UTF_8));
                    case 0x8c -> push(string(in.get() & 0xff, StandardCharsets.UTF_8));
                    case 'T' -> push(string(in.getInt(), StandardCharsets.ISO_8859_1)); // Python 2 str
                    case 'U' -> push(string(in.get() & 0xff, StandardCharsets.ISO_8859_1));
                    case 'q' -> memo.put((long) (in.get() & 0xff), peek());
                    case 'r' -> memo.put(in.getInt() & 0xffffffffL, peek());
                    case 0x94 -> memo.put((long) memo.size(), peek()); // MEMOIZE
                    case 'h' -> push(recall(in.get() & 0xff));
                    case 'j' -> push(recall(in.getInt() & 0xffffffffL));
                    case 'c' -> push(global(line(), line()));
                    case 0x93 -> { // STACK_GLOBAL
                        Object name = pop();
                        Object module = pop();
                        if (!(module instanceof String m) || !(name instanceof String n)) {
                            throw new PickleException("STACK_GLOBAL of non-strings at byte " + at);
                        }
                        push(global(m, n));
                    }
                    case 't' -> push(nullSafe(popMark()));
                    case 0x85 -> push(tuple(1));
                    case 0x86 -> push(tuple(2));
                    case 0x87 -> push(tuple(3));
                    case 'R' -> { // REDUCE
                        Object args = pop();
                        Object callable = pop();
                        if (!(callable instanceof Global g) || !(args instanceof List<?> a)) {
                            throw new PickleException("REDUCE of " + describe(callable) + " at byte " + at
                                    + ": only named globals are called");
                        }
                        push(resolver.call(g, new ArrayList<>(a)));
                    }
                    case 'Q' -> push(resolver.persistentLoad(pop())); // BINPERSID
                    case 's' -> {
                        Object value = pop();
                        Object key = pop();
                        dict(peek(), at).put(key, value);
                    }
                    case 'u' -> {
                        List<Object> items = popMark();
                        Map<Object, Object> dict = dict(peek(), at);
                        if (items.size() % 2 != 0) {
                            throw new PickleException("SETITEMS with an odd number of values at byte " + at);
                        }
                        for (int i = 0; i < items.size(); i += 2) {
                            dict.put(items.get(i), items.get(i + 1));
                        }
                    }
                    case 'a' -> {
                        Object value = pop();
                        list(peek(), at).add(value);
                    }
                    case 'e' -> {
                        List<Object> items = popMark();
                        list(peek(), at).addAll(items);
                    }
                    case 'b' -> { // BUILD: a state_dict's _metadata, set on the OrderedDict
                        pop();
                        dict(peek(), at);
                    }
                    case '0' -> pop(); // POP
                    default -> throw new PickleException(String.format("opcode 0x%02x at byte %d is not one a "
                            + "state_dict uses; refused (a weight file holds tensors and dicts only)", op, at));
                }
            }
        } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new PickleException("the pickle ends early, at byte " + in.position() + " (truncated?)");
        }
    }

    private Global global(String module, String name) throws PickleException {
        Global g = new Global(module, name);
        if (!resolver.allowed(g)) {
            throw new PickleException("the pickle names the global '" + g + "', which a weight file has no use for; "
                    + "refused, since loading it could run code");
        }
        return g;
    }

    private Object long1(int n) throws PickleException {
        if (n > 64) {
            throw new PickleException("an integer of " + n + " bytes");
        }
        byte[] b = new byte[n];
        in.get(b);
        if (n == 0) {
            return 0L;
        }
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) {
            be[i] = b[n - 1 - i];
        }
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private String string(long length, java.nio.charset.Charset charset) throws PickleException {
        if (length < 0 || length > in.remaining()) {
            throw new PickleException("a string of " + length + " bytes with " + in.remaining() + " left");
        }
        byte[] b = new byte[(int) length];
        in.get(b);
        return new String(b, charset);
    }

    private String line() throws PickleException {
        StringBuilder sb = new StringBuilder();
        while (true) {
            byte b = in.get();
            if (b == '\n') {
                return sb.toString();
            }
            if (sb.length() > 256) {
                throw new PickleException("a global's name over 256 characters");
            }
            sb.append((char) (b & 0xff));
        }
    }

    private Object recall(long key) throws PickleException {
        if (!memo.containsKey(key)) {
            throw new PickleException("memo entry " + key + " read before it was written");
        }
        return memo.get(key);
    }

    private List<Object> tuple(int n) throws PickleException {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) {
            items[i] = pop();
        }
        return nullSafe(Arrays.asList(items));
    }

    /** An unmodifiable list that may hold nulls (List.of does not). */
    private static List<Object> nullSafe(List<Object> items) {
        return java.util.Collections.unmodifiableList(new ArrayList<>(items));
    }

    @SuppressWarnings("unchecked")
    private static Map<Object, Object> dict(Object o, int at) throws PickleException {
        if (o instanceof LinkedHashMap<?, ?> m) {
            return (Map<Object, Object>) m;
        }
        throw new PickleException("a dict operation on " + describe(o) + " at byte " + at);
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o, int at) throws PickleException {
        if (o instanceof ArrayList<?> l) {
            return (List<Object>) l;
        }
        throw new PickleException("a list operation on " + describe(o) + " at byte " + at);
    }

    private static String describe(Object o) {
        return o == null ? "None" : o.getClass().getSimpleName();
    }

    private void push(Object o) throws PickleException {
        if (stack.size() >= MAX_DEPTH) {
            throw new PickleException("more than " + MAX_DEPTH + " values on the pickle's stack");
        }
        stack.add(o);
    }

    private Object pop() throws PickleException {
        if (stack.isEmpty() || (!marks.isEmpty() && marks.get(marks.size() - 1) == stack.size())) {
            throw new PickleException("the pickle takes a value from an empty stack");
        }
        return stack.remove(stack.size() - 1);
    }

    private Object peek() throws PickleException {
        if (stack.isEmpty()) {
            throw new PickleException("the pickle reads a value from an empty stack");
        }
        return stack.get(stack.size() - 1);
    }

    private List<Object> popMark() throws PickleException {
        if (marks.isEmpty()) {
            throw new PickleException("the pickle closes a mark it never opened");
        }
        int mark = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(mark, stack.size()));
        stack.subList(mark, stack.size()).clear();
        return items;
    }
}
