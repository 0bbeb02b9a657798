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
