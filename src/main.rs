fn main() {
    println!("gala");
}
