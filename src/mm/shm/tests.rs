//! File objects: what a page starts with, sizes, truncation.

use super::*;
use alloc::vec;

static SRC: [u8; 5000] = {
    let mut a = [0u8; 5000];
    let mut i = 0;
    while i < 5000 {
        a[i] = (i % 251) as u8 + 1;
        i += 1;
    }
    a
};

#[test]
fn a_new_page_of_a_file_starts_with_its_source_bytes() {
    let id = create_file(&SRC).unwrap();
    assert_eq!(file_size(id), Some(5000));
    let mut seen = vec![];
    let (pa, new) = page_or_insert(id, 1, &mut |src| {
        seen.extend_from_slice(src);
        Ok(0x1000)
    })
    .unwrap();
    assert!(new);
    assert_eq!(pa, 0x1000);
    // Page 1 is bytes 4096..5000: 904 bytes, the rest zero.
    assert_eq!(seen.len(), 904);
    assert_eq!(seen[..], SRC[4096..]);
    // Page 2 lies past the source: nothing to copy.
    let (_, new) = page_or_insert(id, 2, &mut |src| {
        assert!(src.is_empty());
        Ok(0x2000)
    })
    .unwrap();
    assert!(new);
    // Found again without allocating.
    let (pa, new) = page_or_insert(id, 1, &mut |_| panic!("allocated twice")).unwrap();
    assert_eq!((pa, new), (0x1000, false));
    assert_eq!(page(id, 1), Some(0x1000));
    assert_eq!(page(id, 0), None);
    remove_user(id, &mut |_| {});
}

#[test]
fn anonymous_objects_have_no_size_and_no_source() {
    let id = create().unwrap();
    assert_eq!(file_size(id), None);
    assert!(source_page(id, 0).is_empty());
    let (_, _) = page_or_insert(id, 0, &mut |src| {
        assert!(src.is_empty());
        Ok(0x3000)
    })
    .unwrap();
    assert_eq!(set_file_size(id, 10, &mut |_| {}), Err(Errno::EINVAL));
    remove_user(id, &mut |_| {});
}

#[test]
fn shrinking_drops_the_pages_wholly_past_the_end_and_cuts_the_source() {
    let id = create_file(&SRC).unwrap();
    assert_eq!(source_page(id, 1).len(), 904, "5000 - 4096");
    for i in 0..3 {
        page_or_insert(id, i, &mut |_| Ok(0x10_000 + 0x1000 * i as u64)).unwrap();
    }
    let mut dropped = vec![];
    // 4097 bytes: pages 0 and 1 stay (page 1 holds byte 4096).
    set_file_size(id, 4097, &mut |pa| dropped.push(pa)).unwrap();
    assert_eq!(dropped, [0x12_000]);
    assert_eq!(file_size(id), Some(4097));
    assert_eq!(page(id, 1), Some(0x11_000));
    assert_eq!(page(id, 2), None);
    // To 0: everything goes; growing again brings nothing back.
    dropped.clear();
    set_file_size(id, 0, &mut |pa| dropped.push(pa)).unwrap();
    assert_eq!(dropped, [0x10_000, 0x11_000]);
    set_file_size(id, 9000, &mut |_| panic!("growing drops nothing")).unwrap();
    page_or_insert(id, 0, &mut |src| {
        assert!(src.is_empty(), "the source was cut at 0");
        Ok(0x20_000)
    })
    .unwrap();
    remove_user(id, &mut |_| {});
}

#[test]
fn a_shrink_inside_a_page_cuts_that_page_s_source() {
    let id = create_file(&SRC[..100]).unwrap();
    assert_eq!(source_page(id, 0).as_ptr(), SRC.as_ptr());
    set_file_size(id, 60, &mut |_| {}).unwrap();
    assert_eq!(source_page(id, 0).len(), 60);
    set_file_size(id, 200, &mut |_| {}).unwrap();
    assert_eq!(source_page(id, 0).len(), 60, "growing brings no byte back");
    remove_user(id, &mut |_| {});
}

// madvise(2) MADV_REMOVE: "Free up a given range of pages and its
// associated backing store ... Subsequent accesses in the specified
// address range will see bytes containing zero." (tmpfs: a hole.)

#[test]
fn take_page_hands_over_the_frame_it_held() {
    let id = create().unwrap();
    page_or_insert(id, 1, &mut |_| Ok(0x7000)).unwrap();
    assert_eq!(take_page(id, 0), None, "never touched");
    assert_eq!(take_page(id, 1), Some(0x7000));
    assert_eq!(page(id, 1), None, "a hole now");
    assert_eq!(take_page(id, 1), None, "only once");
    assert_eq!(take_page(id, 5), None, "past the array");
    remove_user(id, &mut |_| panic!("nothing left to drop"));
}

#[test]
fn punching_anonymous_memory_or_a_file_past_its_source_leaves_a_hole() {
    let id = create().unwrap();
    page_or_insert(id, 0, &mut |_| Ok(0x5000)).unwrap();
    let no_alloc = &mut || -> Result<u64, Errno> { panic!("no page is needed for a hole") };
    assert_eq!(punch_page(id, 0, no_alloc), Ok(Some(0x5000)));
    assert_eq!(punch_page(id, 0, no_alloc), Ok(None));
    assert_eq!(punch_page(id, 3, no_alloc), Ok(None));
    assert_eq!(cached_pages(id), 0);
    remove_user(id, &mut |_| {});
    // A file whose source ends exactly at page 1, grown to 3 pages: pages
    // 1 and 2 have no source bytes to come back from.
    let f = create_file(&SRC[..4096]).unwrap();
    set_file_size(f, 3 * 4096, &mut |_| {}).unwrap();
    page_or_insert(f, 1, &mut |_| Ok(0x8000)).unwrap();
    page_or_insert(f, 2, &mut |_| Ok(0x9000)).unwrap();
    assert_eq!(punch_page(f, 1, no_alloc), Ok(Some(0x8000)));
    assert_eq!(punch_page(f, 2, no_alloc), Ok(Some(0x9000)));
    assert_eq!(page(f, 1), None);
    assert_eq!(page(f, 2), None);
    remove_user(f, &mut |_| {});
}

#[test]
fn punching_a_page_a_source_would_refill_puts_a_zeroed_page_there() {
    // Never cached: the hole must not read as the source again.
    let f = create_file(&SRC).unwrap();
    assert_eq!(punch_page(f, 1, &mut || Ok(0xA000)), Ok(None));
    assert_eq!(page(f, 1), Some(0xA000));
    // Cached: the old frame is handed back, the zeroed one takes its place.
    page_or_insert(f, 0, &mut |_| Ok(0xB000)).unwrap();
    assert_eq!(punch_page(f, 0, &mut || Ok(0xC000)), Ok(Some(0xB000)));
    assert_eq!(page(f, 0), Some(0xC000));
    // No memory for the zeroed page: nothing changes.
    assert_eq!(
        punch_page(f, 0, &mut || Err(Errno::ENOMEM)),
        Err(Errno::ENOMEM)
    );
    assert_eq!(page(f, 0), Some(0xC000));
    let mut dropped = vec![];
    remove_user(f, &mut |pa| dropped.push(pa));
    dropped.sort();
    assert_eq!(dropped, [0xA000, 0xC000]);
}

#[test]
fn a_page_the_array_cannot_index_is_enomem_before_any_frame_is_taken() {
    // Room in the page array is made before the frame is allocated, so a
    // failure leaves nothing to give back (ENOMEM, object unchanged).
    let id = create().unwrap();
    assert_eq!(
        page_or_insert(id, 1 << 61, &mut |_| panic!("no frame before room")),
        Err(Errno::ENOMEM)
    );
    assert_eq!(cached_pages(id), 0);
    remove_user(id, &mut |_| {});
}
