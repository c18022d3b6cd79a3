// Command tilecheck verifies a C2SP tlog-tiles log with Go's golang.org/x/mod/sumdb/tlog and
// sumdb/note, an implementation farmtrace did not write (tests/ledger/test_go_tilecheck.py runs it).
//
//	tilecheck -key VKEY SOURCE
//
// SOURCE is a directory `farmtrace publish` wrote, or an http(s) URL prefix (such as .../log).
// It opens the checkpoint with the log's verifier key (note.Open), reads the hash tiles through
// tlog.TileHashReader (which authenticates every tile it reads against the checkpoint's tree),
// computes tlog.TreeHash, checks every entry of every bundle against its record hash, and proves
// and checks inclusion (ProveRecord/CheckRecord) and consistency (ProveTree/CheckTree) for a few
// indexes and sizes. It prints "OK size=N root=B64" and exits 0, or prints the failure and exits 1.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8 // C2SP tlog-tiles: tiles of 2^8 hashes

var source string

func fetch(path string) ([]byte, error) {
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		resp, err := http.Get(strings.TrimSuffix(source, "/") + "/" + path)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
		}
		return io.ReadAll(resp.Body)
	}
	return os.ReadFile(filepath.Join(source, filepath.FromSlash(path)))
}

// tilePath writes C2SP tlog-tiles' path for a tile (Go's own Tile.Path is sumdb's tile/H/L/N form).
func tilePath(t tlog.Tile) string {
	level := strconv.Itoa(t.L)
	if t.L == -1 {
		level = "entries"
	}
	n := t.N
	elems := []string{fmt.Sprintf("%03d", n%1000)}
	for n >= 1000 {
		n /= 1000
		elems = append([]string{fmt.Sprintf("x%03d", n%1000)}, elems...)
	}
	p := "tile/" + level + "/" + strings.Join(elems, "/")
	if t.W != 1<<height {
		p += ".p/" + strconv.Itoa(t.W)
	}
	return p
}

type tileReader struct{}

func (tileReader) Height() int { return height }

func (tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := fetch(tilePath(t))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func check(vkey string) (int64, tlog.Hash, error) {
	// 1. The checkpoint, signed by the log (witness cosignatures are unknown keys here: ignored).
	msg, err := fetch("checkpoint")
	if err != nil {
		return 0, tlog.Hash{}, err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return 0, tlog.Hash{}, err
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return 0, tlog.Hash{}, fmt.Errorf("checkpoint: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		return 0, tlog.Hash{}, fmt.Errorf("checkpoint: unexpected text %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return 0, tlog.Hash{}, fmt.Errorf("checkpoint size: %v", err)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		return 0, tlog.Hash{}, fmt.Errorf("checkpoint root: %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	if size == 0 {
		return 0, root, nil
	}
	// 2. The tree hash, from tiles that TileHashReader authenticates against the checkpoint.
	hr := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, tileReader{})
	th, err := tlog.TreeHash(size, hr)
	if err != nil {
		return 0, root, fmt.Errorf("TreeHash: %v", err)
	}
	if th != root {
		return 0, root, fmt.Errorf("TreeHash %v is not the checkpoint's root %v", th, root)
	}
	// 3. Every entry of every bundle against its record hash in the (authenticated) level-0 tiles.
	for start := int64(0); start < size; start += 1 << height {
		w := size - start
		if w > 1<<height {
			w = 1 << height
		}
		bundle := tlog.Tile{H: height, L: -1, N: start >> height, W: int(w)}
		data, err := fetch(tilePath(bundle))
		if err != nil {
			return 0, root, err
		}
		indexes := make([]int64, w)
		for k := range indexes {
			indexes[k] = tlog.StoredHashIndex(0, start+int64(k))
		}
		hashes, err := hr.ReadHashes(indexes)
		if err != nil {
			return 0, root, fmt.Errorf("%s: %v", tilePath(bundle), err)
		}
		r := bytes.NewReader(data)
		for k := int64(0); k < w; k++ {
			var length uint16
			if err := binary.Read(r, binary.BigEndian, &length); err != nil {
				return 0, root, fmt.Errorf("%s: entry %d: %v", tilePath(bundle), start+k, err)
			}
			entry := make([]byte, length)
			if _, err := io.ReadFull(r, entry); err != nil {
				return 0, root, fmt.Errorf("%s: entry %d: %v", tilePath(bundle), start+k, err)
			}
			if tlog.RecordHash(entry) != hashes[k] {
				return 0, root, fmt.Errorf("%s: entry %d does not match its record hash", tilePath(bundle), start+k)
			}
		}
		if r.Len() != 0 {
			return 0, root, fmt.Errorf("%s: %d bytes after its %d entries", tilePath(bundle), r.Len(), w)
		}
	}
	// 4. Inclusion and consistency proofs, proved from the tiles and checked against the root.
	for _, i := range []int64{0, size / 2, size - 1} {
		p, err := tlog.ProveRecord(size, i, hr)
		if err != nil {
			return 0, root, fmt.Errorf("ProveRecord(%d): %v", i, err)
		}
		leaf, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
		if err != nil {
			return 0, root, err
		}
		if err := tlog.CheckRecord(p, size, root, i, leaf[0]); err != nil {
			return 0, root, fmt.Errorf("CheckRecord(%d): %v", i, err)
		}
	}
	for _, old := range []int64{1, (size + 1) / 2, size} {
		oldHash, err := tlog.TreeHash(old, hr)
		if err != nil {
			return 0, root, err
		}
		p, err := tlog.ProveTree(size, old, hr)
		if err != nil {
			return 0, root, fmt.Errorf("ProveTree(%d, %d): %v", size, old, err)
		}
		if err := tlog.CheckTree(p, size, root, old, oldHash); err != nil {
			return 0, root, fmt.Errorf("CheckTree(%d, %d): %v", size, old, err)
		}
	}
	return size, root, nil
}

func main() {
	key := flag.String("key", "", "the log's verifier key (name+keyid+base64)")
	flag.Parse()
	if *key == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: tilecheck -key VKEY DIR|URL")
		os.Exit(2)
	}
	source = flag.Arg(0)
	size, root, err := check(*key)
	if err != nil {
		var nf *os.PathError
		if errors.As(err, &nf) {
			err = fmt.Errorf("missing: %v", err)
		}
		fmt.Println("FAILED:", err)
		os.Exit(1)
	}
	fmt.Printf("OK size=%d root=%s\n", size, base64.StdEncoding.EncodeToString(root[:]))
}
